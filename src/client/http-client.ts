import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { alertsHttpApi } from './alerts-api.js';
import type { SextantApi } from './api.js';
import { budgetsHttpApi } from './budgets-api.js';
import { complianceHttpApi } from './compliance-api.js';
import { costHttpApi } from './cost-api.js';
import { dataHttpApi } from './data-api.js';
import { dataQualityHttpApi } from './data-quality-api.js';
import { createHttpTransport } from './http-transport.js';
import { jobsHttpApi } from './jobs-api.js';
import { lineageHttpApi } from './lineage-api.js';
import { modelsHttpApi } from './models-api.js';
import { monitoringHttpApi } from './monitoring-api.js';
import { pipelinesHttpApi } from './pipelines-api.js';
import { reaperHttpApi } from './reaper-api.js';
import { servingHttpApi } from './serving-api.js';
import { triggersHttpApi } from './triggers-api.js';
import { webhooksHttpApi } from './webhooks-api.js';

export interface HttpClientOptions {
  /** Base URL of a Sextant server, e.g. http://127.0.0.1:5005 */
  url: string;
  token?: string;
  fetch?: typeof fetch;
}

const enc = encodeURIComponent;
/** The API path of one artifact of a run (the web UI fetches previews from it). */
export const artifactUrl = (id: string, path: string) =>
  `/api/v1/runs/${enc(id)}/artifacts/${path.split('/').map(enc).join('/')}`;

/** The typed HTTP client of the native API (/api/v1); errors come back as AppError with the server's code. */
export function createHttpClient(options: HttpClientOptions): SextantApi {
  const transport = createHttpTransport(options);
  const { raw, call } = transport;

  return {
    me: () => call('GET', '/api/v1/me'),
    experiments: {
      list: (q = {}) => call('GET', '/api/v1/experiments', { query: q }),
      create: (input) => call('POST', '/api/v1/experiments', { json: input }),
      get: (id) => call('GET', `/api/v1/experiments/${enc(id)}`),
      getByName: (name) => call('GET', `/api/v1/experiments/by-name/${enc(name)}`),
      delete: async (id) => void (await call('DELETE', `/api/v1/experiments/${enc(id)}`)),
      restore: async (id) => void (await call('POST', `/api/v1/experiments/${enc(id)}/restore`)),
    },
    runs: {
      create: (input) => call('POST', '/api/v1/runs', { json: input }),
      get: (id) => call('GET', `/api/v1/runs/${enc(id)}`),
      update: (id, patch) => call('PATCH', `/api/v1/runs/${enc(id)}`, { json: patch }),
      delete: async (id) => void (await call('DELETE', `/api/v1/runs/${enc(id)}`)),
      search: (q) => call('POST', '/api/v1/runs/search', { json: q }),
      logBatch: async (id, batch) =>
        void (await call('POST', `/api/v1/runs/${enc(id)}/batch`, { json: batch })),
      logInputs: async (id, inputs) =>
        void (await call('POST', `/api/v1/runs/${enc(id)}/inputs`, { json: inputs })),
      metricHistory: async (id, key) =>
        (
          await call<{ metrics: never[] }>('GET', `/api/v1/runs/${enc(id)}/metrics/${enc(key)}/history`, {
            query: { maxResults: 100_000 },
          })
        ).metrics,
      listArtifacts: async (id, path = '') =>
        (await call<{ artifacts: never[] }>('GET', `/api/v1/runs/${enc(id)}/artifacts`, { query: { path } }))
          .artifacts,
      uploadArtifact: (id, path, content) =>
        call('PUT', artifactUrl(id, path), {
          body: (typeof content === 'string' || content instanceof Uint8Array
            ? content
            : (Readable.toWeb(content) as unknown as ReadableStream)) as NonNullable<RequestInit['body']>,
        }),
      downloadArtifact: async (id, path) => {
        const res = await raw('GET', artifactUrl(id, path));
        if (!res.body) return Readable.from([]);
        return Readable.fromWeb(res.body as unknown as WebReadableStream);
      },
    },
    users: {
      list: async () => (await call<{ users: never[] }>('GET', '/api/v1/users')).users,
      create: (input) => call('POST', '/api/v1/users', { json: input }),
      update: (user, patch) => call('PATCH', `/api/v1/users/${enc(user)}`, { json: patch }),
    },
    tokens: {
      list: async (user) =>
        (await call<{ tokens: never[] }>('GET', '/api/v1/tokens', { query: { user } })).tokens,
      create: (input) => call('POST', '/api/v1/tokens', { json: input }),
      revoke: (id) => call('DELETE', `/api/v1/tokens/${enc(id)}`),
      reissue: (id) => call('POST', `/api/v1/tokens/${enc(id)}/reissue`, { json: {} }),
    },
    data: dataHttpApi(transport),
    dataQuality: dataQualityHttpApi(transport),
    lineage: lineageHttpApi(transport),
    models: modelsHttpApi(transport),
    webhooks: webhooksHttpApi(transport),
    triggers: triggersHttpApi(transport),
    budgets: budgetsHttpApi(transport),
    reaper: reaperHttpApi(transport),
    alerts: alertsHttpApi(transport),
    jobs: jobsHttpApi(transport),
    pipelines: pipelinesHttpApi(transport),
    cost: costHttpApi(transport),
    serving: servingHttpApi(transport),
    monitoring: monitoringHttpApi(transport),
    compliance: complianceHttpApi(transport),
    audit: {
      list: async (q = {}) =>
        (await call<{ entries: never[] }>('GET', '/api/v1/audit', { query: q })).entries,
      verify: (checkpoint, options = {}) =>
        call('POST', '/api/v1/audit/verify', {
          json: { ...(checkpoint ? { checkpoint } : {}), ...(options.deep ? { deep: true } : {}) },
        }),
      checkpoint: async () =>
        (await call<{ checkpoint: null }>('POST', '/api/v1/audit/checkpoint', { json: {} })).checkpoint,
    },
  };
}
