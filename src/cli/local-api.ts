import type { CoreServices, Services } from '../app/index.js';
import { localPrincipal } from '../auth/index.js';
import type { SextantApi } from '../client/index.js';
import { parseOrThrow } from '../core/validate.js';
import { HISTORY_PAGE_MAX, logBatchBodySchema } from '../tracking/index.js';
import { dataLocalApi } from './local/data.js';
import { type AsyncMembers, lazyApi } from './local/lazy-api.js';

/** A local workspace as the in-process API reads it: the core services now, the rest on first use. */
export interface LocalServices {
  core: CoreServices;
  /** Every service; the floors above the core are built (and their modules loaded) on the first call. */
  full(): Promise<Services>;
}

/**
 * The in-process transport: the same SextantApi as the HTTP client, served straight from a local
 * workspace's services. The caller is the local admin, as on a server with auth off.
 */
export function createLocalApi(s: Services): SextantApi {
  return createLazyLocalApi({ core: s, full: async () => s });
}

/**
 * The in-process transport over a workspace whose upper floors are built on demand: experiments,
 * runs, datasets, users, tokens and the audit log answer from the core services; the other groups
 * build the rest of the workspace on their first call.
 */
export function createLazyLocalApi({ core: s, full }: LocalServices): SextantApi {
  const actor = localPrincipal.name;
  /** A group served from every service: its module and the upper floors load on its first call. */
  const upper = <T extends AsyncMembers<T>>(
    module: () => Promise<(services: Services, actor: string) => T>,
  ): T => lazyApi(async () => (await module())(await full(), actor));
  return {
    me: async () => ({ ...localPrincipal }),
    experiments: {
      list: (q = {}) => s.experiments.search(q),
      create: (input) => s.experiments.create({ actor, ...input }),
      get: (id) => s.experiments.get(id),
      getByName: (name) => s.experiments.getByName(name),
      delete: (id) => s.experiments.delete(actor, id),
      restore: (id) => s.experiments.restore(actor, id),
    },
    runs: {
      create: (input) => s.runs.create({ actor, experimentId: '0', ...input }),
      get: (id) => s.runs.get(id),
      update: (id, patch) => s.runs.update({ actor, runId: id, ...patch }),
      delete: (id) => s.runs.delete(actor, id),
      search: (q) => s.runSearch.search(q),
      logBatch: (id, batch) =>
        s.runs.logBatch({ actor, runId: id, ...parseOrThrow(logBatchBodySchema, batch) }),
      logInputs: (id, inputs) => s.runs.logInputs({ actor, runId: id, ...inputs }),
      metricHistory: async (id, key) =>
        (await s.runs.metricHistory({ runId: id, key, maxResults: HISTORY_PAGE_MAX })).metrics,
      listArtifacts: (id, path) => s.artifacts.list(id, path),
      uploadArtifact: (id, path, content) => s.artifacts.put({ actor, runId: id, path, content }),
      downloadArtifact: async (id, path) => (await s.artifacts.get(id, path)).stream,
    },
    users: {
      list: () => s.auth.listUsers(),
      create: (input) => s.auth.createUser({ actor, ...input }),
      update: async (user, patch) => {
        let u = await s.auth.getUser(user);
        if (patch.role) u = await s.auth.setRole({ actor, user, role: patch.role });
        if (patch.disabled) u = await s.auth.disableUser({ actor, user });
        return u;
      },
    },
    tokens: {
      list: (user) => s.auth.listTokens(user),
      create: (input) => s.auth.createToken({ actor, ...input }),
      revoke: (id) => s.auth.revokeToken({ actor, id }),
      reissue: (id) => s.auth.reissueToken({ actor, id, mintedUnder: 'local' }),
    },
    data: dataLocalApi(s, actor),
    dataQuality: upper(async () => (await import('./local/data-quality.js')).dataQualityLocalApi),
    lineage: upper(async () => (await import('./local/lineage.js')).lineageLocalApi),
    models: upper(async () => (await import('./local/models.js')).modelsLocalApi),
    webhooks: upper(async () => (await import('./local/webhooks.js')).webhooksLocalApi),
    budgets: upper(async () => (await import('./local/budgets.js')).budgetsLocalApi),
    reaper: upper(async () => (await import('./local/reaper.js')).reaperLocalApi),
    alerts: upper(async () => (await import('./local/alerts.js')).alertsLocalApi),
    jobs: upper(async () => (await import('./local/jobs.js')).jobsLocalApi),
    pipelines: upper(async () => (await import('./local/pipelines.js')).pipelinesLocalApi),
    cost: upper(async () => (await import('./local/cost.js')).costLocalApi),
    serving: upper(async () => (await import('./local/serving.js')).servingLocalApi),
    triggers: upper(async () => (await import('./local/triggers.js')).triggersLocalApi),
    monitoring: upper(async () => (await import('./local/monitoring.js')).monitoringLocalApi),
    compliance: upper(async () => (await import('./local/compliance.js')).complianceLocalApi),
    audit: {
      list: (q = {}) => s.audit.list(q),
      verify: (checkpoint, options = {}) =>
        s.audit.verify({
          ...(checkpoint ? { externalCheckpoint: checkpoint } : {}),
          ...(options.deep ? { deep: true } : {}),
        }),
      checkpoint: async () => (await s.audit.checkpoint()) ?? null,
    },
  };
}
