import type { Job, JobDetail, JobPage, ListJobsQuery, WorkerInfo } from '../jobs/job.schema.js';
import type { HttpTransport } from './http-transport.js';

/** The Jobs part of SextantApi: background jobs and their attempts. */
export interface JobsApi {
  list(q?: ListJobsQuery): Promise<JobPage>;
  /** A job with its attempt log. */
  get(id: string): Promise<JobDetail>;
  /** Cancels a queued or running job. */
  cancel(id: string): Promise<Job>;
  /** Workers seen lately (`sextant workers ls`). */
  workers(): Promise<WorkerInfo[]>;
}

const enc = encodeURIComponent;

/** JobsApi over HTTP. */
export function jobsHttpApi(t: HttpTransport): JobsApi {
  return {
    list: (q = {}) => t.call('GET', '/api/v1/jobs', { query: q as Record<string, unknown> }),
    get: (id) => t.call('GET', `/api/v1/jobs/${enc(id)}`),
    cancel: (id) => t.call('POST', `/api/v1/jobs/${enc(id)}/cancel`, { json: {} }),
    workers: async () => (await t.call<{ workers: WorkerInfo[] }>('GET', '/api/v1/workers')).workers,
  };
}
