import type {
  ListPipelineRunsQuery,
  LogPage,
  Pipeline,
  PipelineRunDetail,
  PipelineRunPage,
  PipelineRunStatus,
} from '../pipelines/pipeline-spec.schema.js';
import type { HttpTransport } from './http-transport.js';

/** The Pipelines part of SextantApi: registered pipelines, their runs, step logs. */
export interface PipelinesApi {
  /** Registers a spec (YAML text); the same content registers once. */
  create(yaml: string): Promise<{ pipeline: Pipeline; created: boolean }>;
  list(): Promise<Pipeline[]>;
  /** Starts a run of a registered pipeline (latest version); returns at once. */
  run(input: { pipeline: string; params?: Record<string, unknown>; force?: boolean }): Promise<{
    runId: string;
    status: PipelineRunStatus;
  }>;
  runs(q?: ListPipelineRunsQuery): Promise<PipelineRunPage>;
  /** A run with its steps. */
  get(runId: string): Promise<PipelineRunDetail>;
  /** Log chunks after a cursor (null: from the start). */
  logs(runId: string, q?: { step?: string; after?: string | null }): Promise<LogPage>;
  cancel(runId: string): Promise<void>;
}

const enc = encodeURIComponent;

/** PipelinesApi over HTTP. */
export function pipelinesHttpApi(t: HttpTransport): PipelinesApi {
  return {
    create: (yaml) => t.call('POST', '/api/v1/pipelines', { json: { yaml } }),
    list: async () => (await t.call<{ pipelines: Pipeline[] }>('GET', '/api/v1/pipelines')).pipelines,
    run: (input) => t.call('POST', '/api/v1/pipeline-runs', { json: input }),
    runs: (q = {}) => t.call('GET', '/api/v1/pipeline-runs', { query: q as Record<string, unknown> }),
    get: (id) => t.call('GET', `/api/v1/pipeline-runs/${enc(id)}`),
    logs: (id, q = {}) =>
      t.call('GET', `/api/v1/pipeline-runs/${enc(id)}/logs`, {
        query: { ...(q.step ? { step: q.step } : {}), ...(q.after ? { after: q.after } : {}) },
      }),
    cancel: async (id) => {
      await t.call('POST', `/api/v1/pipeline-runs/${enc(id)}/cancel`, { json: {} });
    },
  };
}
