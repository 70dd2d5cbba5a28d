import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../../app/index.js';
import { ValidationError } from '../../../core/errors.js';
import {
  HISTORY_BULK_POINTS_MAX,
  HISTORY_BULK_RUNS_MAX,
  HISTORY_PAGE_DEFAULT,
  LIMITS,
  loggedModelIdSchema,
  paramInputSchema,
  runStatusSchema,
  tagInputSchema,
} from '../../../tracking/index.js';
import { sendJsonList } from '../../json-stream.js';
import { logBatchBodySchema, wireMetricSchema as metric, readLogBatchBody } from './log-batch-body.js';
import { mlflowRoute } from './mlflow-route.js';
import { sendRunsSearchPage } from './runs-search-reply.js';
import { fromKeyValues, int64, keyValue, mlflowMetric, mlflowRun, mlflowRunInfo, repeated } from './wire.js';

const runId = z.string().min(1).max(256);
/** run_uuid is MLflow's deprecated twin of run_id; either may be sent. */
const runRef = { run_id: runId.optional(), run_uuid: runId.optional() };
function runIdOf(b: { run_id?: string | undefined; run_uuid?: string | undefined }): string {
  const id = b.run_id ?? b.run_uuid;
  if (!id)
    throw new ValidationError("run_id: missing value for required parameter 'run_id'", { field: 'run_id' });
  return id;
}

const toMetric = (m: z.infer<typeof metric>) => ({
  key: m.key,
  value: m.value,
  timestamp: m.timestamp,
  step: m.step ?? 0,
  ...(m.model_id ? { modelId: m.model_id } : {}),
  ...(m.dataset_name ? { datasetName: m.dataset_name } : {}),
  ...(m.dataset_digest ? { datasetDigest: m.dataset_digest } : {}),
});

// MLflow's log-batch request limit.
const LOG_BATCH_BODY_LIMIT = 1024 * 1024;

/** runs/* and metrics/*: MLflow's run endpoints. */
export function registerMlflowRunRoutes(app: FastifyInstance, s: Services): void {
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'runs/create',
    permission: 'write',
    summary: 'MLflow: start a run',
    input: z.strictObject({
      experiment_id: z.string().max(32).optional(),
      user_id: z.string().max(256).optional(),
      run_name: z.string().max(500).optional(),
      start_time: int64.optional(),
      tags: z.array(tagInputSchema).max(LIMITS.batchTags).optional(),
    }),
    handler: async (b, req) => {
      const run = await s.runs.create({
        actor: req.principal.name,
        experimentId: b.experiment_id || '0',
        ...(b.run_name ? { name: b.run_name } : {}),
        ...(b.user_id ? { userId: b.user_id } : {}),
        ...(b.start_time !== undefined ? { startTime: b.start_time } : {}),
        tags: fromKeyValues(b.tags),
      });
      return { run: mlflowRun(run) };
    },
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'runs/get',
    permission: 'read',
    summary: 'MLflow: get a run',
    input: z.strictObject(runRef),
    handler: async (q) => {
      const run = mlflowRun(await s.runs.get(runIdOf(q)));
      // MLflow 3's RunInputs.model_inputs and RunOutputs.model_outputs: the run's logged models.
      const links = await s.loggedModels.links({ runId: run.info.run_id });
      const of = (direction: 'input' | 'output') => links.filter((l) => l.direction === direction);
      return {
        run: {
          ...run,
          inputs: { ...run.inputs, model_inputs: of('input').map((l) => ({ model_id: l.modelId })) },
          outputs: { model_outputs: of('output').map((l) => ({ model_id: l.modelId, step: l.step })) },
        },
      };
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'runs/update',
    permission: 'write',
    summary: 'MLflow: update a run',
    input: z.strictObject({
      ...runRef,
      status: runStatusSchema.optional(),
      end_time: int64.optional(),
      run_name: z.string().max(500).optional(),
    }),
    handler: async (b, req) => {
      const run = await s.runs.update({
        actor: req.principal.name,
        runId: runIdOf(b),
        ...(b.status ? { status: b.status } : {}),
        ...(b.end_time !== undefined ? { endTime: b.end_time } : {}),
        ...(b.run_name ? { name: b.run_name } : {}),
      });
      return { run_info: mlflowRunInfo(run) };
    },
  });
  for (const [path, action] of [
    ['runs/delete', 'delete'],
    ['runs/restore', 'restore'],
  ] as const) {
    mlflowRoute(app, {
      methods: ['POST'],
      path,
      permission: 'write',
      summary: `MLflow: ${action} a run`,
      input: z.strictObject({ run_id: runId }),
      handler: async (b, req) => {
        await s.runs[action](req.principal.name, b.run_id);
        return {};
      },
    });
  }
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'runs/log-metric',
    permission: 'write',
    summary: 'MLflow: log one metric value',
    input: metric.extend(runRef),
    handler: async (b, req) => {
      await s.runs.logBatch({
        actor: req.principal.name,
        runId: runIdOf(b),
        metrics: [toMetric(b)],
      });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'runs/log-parameter',
    permission: 'write',
    summary: 'MLflow: log a param (immutable)',
    // The service trusts its input: MLflow's key and value limits are checked here, at the edge.
    input: z.strictObject({ ...runRef, ...paramInputSchema.shape }),
    handler: async (b, req) => {
      await s.runs.logBatch({
        actor: req.principal.name,
        runId: runIdOf(b),
        params: [{ key: b.key, value: b.value }],
      });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'runs/set-tag',
    permission: 'write',
    summary: 'MLflow: set a run tag',
    input: z.strictObject({ ...runRef, ...tagInputSchema.shape }),
    handler: async (b, req) => {
      await s.runs.logBatch({
        actor: req.principal.name,
        runId: runIdOf(b),
        tags: [{ key: b.key, value: b.value }],
      });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'runs/delete-tag',
    permission: 'write',
    summary: 'MLflow: delete a run tag',
    input: z.strictObject({ run_id: runId, key: z.string() }),
    handler: async (b, req) => {
      await s.runs.deleteTag({ actor: req.principal.name, runId: b.run_id, key: b.key });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'runs/log-batch',
    permission: 'write',
    summary: "MLflow: log metrics, params and tags in one request (MLflow's limits)",
    // MLflow's limit, unless the server is configured with a smaller one.
    bodyLimit: Math.min(LOG_BATCH_BODY_LIMIT, s.config.bodyLimitBytes),
    input: logBatchBodySchema,
    check: readLogBatchBody,
    handler: async ({ runId, batch }, req) => {
      await s.runs.logBatch({ actor: req.principal.name, runId, ...batch });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'runs/log-model',
    permission: 'write',
    summary: "MLflow: record a logged model's metadata on the run",
    input: z.strictObject({ run_id: runId, model_json: z.string().max(65_536) }),
    handler: async (b, req) => {
      let model: unknown;
      try {
        model = JSON.parse(b.model_json);
      } catch {
        throw new ValidationError('model_json: not valid JSON', { field: 'model_json' });
      }
      const run = await s.runs.get(b.run_id);
      const key = 'mlflow.log-model.history';
      const history = run.tags[key] ? (JSON.parse(run.tags[key]) as unknown[]) : [];
      history.push(model);
      const value = JSON.stringify(history);
      if (value.length > LIMITS.tagValueLength) {
        throw new ValidationError(
          `model_json: the run's model history would exceed ${LIMITS.tagValueLength} characters`,
          {
            field: 'model_json',
          },
        );
      }
      await s.runs.logBatch({
        actor: req.principal.name,
        runId: b.run_id,
        tags: [{ key, value }],
      });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'runs/log-inputs',
    permission: 'write',
    summary: 'MLflow: record the datasets a run used',
    input: z.strictObject({
      run_id: runId,
      datasets: z
        .array(
          z.strictObject({
            tags: z.array(keyValue).optional(),
            dataset: z.strictObject({
              name: z.string(),
              digest: z.string(),
              source_type: z.string().optional(),
              source: z.string().optional(),
              schema: z.string().optional(),
              profile: z.string().optional(),
            }),
          }),
        )
        .optional(),
      models: z.array(z.strictObject({ model_id: loggedModelIdSchema })).optional(),
    }),
    handler: async (b, req) => {
      if (b.models?.length) {
        await s.loggedModels.linkRun({
          actor: req.principal.name,
          runId: b.run_id,
          direction: 'input',
          models: b.models.map((m) => ({ modelId: m.model_id, step: 0 })),
        });
      }
      if (!b.datasets?.length && b.models?.length) return {};
      await s.runs.logInputs({
        actor: req.principal.name,
        runId: b.run_id,
        datasets: (b.datasets ?? []).map((d) => ({
          name: d.dataset.name,
          digest: d.dataset.digest,
          ...(d.dataset.source_type ? { sourceType: d.dataset.source_type } : {}),
          ...(d.dataset.source ? { source: d.dataset.source } : {}),
          ...(d.dataset.schema ? { schema: d.dataset.schema } : {}),
          ...(d.dataset.profile ? { profile: d.dataset.profile } : {}),
          tags: fromKeyValues(d.tags),
        })),
      });
      return {};
    },
  });
  // service.proto names the path runs/outputs; runs/log-outputs is accepted too.
  for (const path of ['runs/outputs', 'runs/log-outputs']) {
    mlflowRoute(app, {
      methods: ['POST'],
      path,
      permission: 'write',
      summary: 'MLflow 3: record the logged models a run produced',
      input: z.strictObject({
        run_id: runId,
        models: z
          .array(z.strictObject({ model_id: loggedModelIdSchema, step: int64.optional() }))
          .max(LIMITS.batchTotal)
          .optional(),
      }),
      handler: async (b, req) => {
        await s.loggedModels.linkRun({
          actor: req.principal.name,
          runId: b.run_id,
          direction: 'output',
          models: (b.models ?? []).map((m) => ({ modelId: m.model_id, step: m.step ?? 0 })),
        });
        return {};
      },
    });
  }
  for (const method of ['GET', 'POST'] as const) {
    mlflowRoute(app, {
      methods: [method],
      path: 'runs/search',
      permission: 'read',
      summary: "MLflow: search runs with MLflow's filter syntax",
      input: z.strictObject({
        experiment_ids: method === 'GET' ? repeated(z.string()).optional() : z.array(z.string()).optional(),
        filter: z.string().max(10_000).optional(),
        run_view_type: z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']).optional(),
        max_results: int64.optional(),
        order_by: method === 'GET' ? repeated(z.string()).optional() : z.array(z.string()).optional(),
        page_token: z.string().max(1000).optional(),
      }),
      handler: async (b, _req, reply) => {
        const page = await s.runSearch.searchWithDataJson({
          experimentIds: b.experiment_ids ?? [],
          ...(b.filter ? { filter: b.filter } : {}),
          ...(b.order_by ? { orderBy: b.order_by } : {}),
          runViewType: b.run_view_type ?? 'ACTIVE_ONLY',
          maxResults: b.max_results ?? 1000,
          ...(b.page_token ? { pageToken: b.page_token } : {}),
        });
        return sendRunsSearchPage(reply, page);
      },
    });
  }
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'metrics/get-history',
    permission: 'read',
    summary:
      "MLflow: a metric's history, a page at a time (25,000 points unless max_results says otherwise, at most 100,000)",
    input: z.strictObject({
      ...runRef,
      metric_key: z.string().min(1),
      page_token: z.string().max(1000).optional(),
      max_results: int64.optional(),
    }),
    handler: async (q, _req, reply) => {
      // MLflow's client pages through with next_page_token; the cap keeps one reply bounded.
      const page = await s.runs.metricHistory({
        runId: runIdOf(q),
        key: q.metric_key,
        maxResults: q.max_results ?? HISTORY_PAGE_DEFAULT,
        ...(q.page_token ? { pageToken: q.page_token } : {}),
        fields: { maxResults: 'max_results', pageToken: 'page_token' },
      });
      return sendJsonList(reply, 'metrics', page.metrics.map(mlflowMetric), {
        next_page_token: page.nextPageToken,
      });
    },
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'metrics/get-history-bulk',
    permission: 'read',
    summary: "MLflow: one metric's history for several runs (at most max_results points in all)",
    input: z.strictObject({
      run_id: repeated(runId),
      metric_key: z.string().min(1),
      max_results: int64.optional(),
    }),
    handler: async (q, _req, reply) => {
      if (q.run_id.length === 0 || q.run_id.length > HISTORY_BULK_RUNS_MAX) {
        throw new ValidationError(`run_id: give between 1 and ${HISTORY_BULK_RUNS_MAX} run ids`, {
          field: 'run_id',
        });
      }
      let left = q.max_results ?? HISTORY_PAGE_DEFAULT;
      const out = [];
      // MLflow's order: by run id, then step and timestamp within a run.
      for (const id of [...new Set(q.run_id)].sort()) {
        if (left <= 0) break;
        const page = await s.runs.metricHistory({
          runId: id,
          key: q.metric_key,
          maxResults: left,
          fields: { maxResults: 'max_results', pageToken: 'page_token' },
        });
        for (const m of page.metrics) out.push({ ...mlflowMetric(m), run_id: id });
        left -= page.metrics.length;
      }
      return sendJsonList(reply, 'metrics', out);
    },
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'metrics/get-history-bulk-interval',
    permission: 'read',
    summary: 'MLflow: metric histories of several runs within a step interval',
    input: z.strictObject({
      run_ids: repeated(z.string()),
      metric_key: z.string().min(1),
      start_step: int64.optional(),
      end_step: int64.optional(),
      max_results: int64.optional(),
    }),
    handler: async (q, _req, reply) => {
      if (q.run_ids.length === 0 || q.run_ids.length > HISTORY_BULK_RUNS_MAX) {
        throw new ValidationError(`run_ids: give between 1 and ${HISTORY_BULK_RUNS_MAX} run ids`, {
          field: 'run_ids',
        });
      }
      const metrics = await s.runs.sampledMetricHistories({
        runIds: q.run_ids,
        key: q.metric_key,
        ...(q.start_step !== undefined ? { startStep: q.start_step } : {}),
        ...(q.end_step !== undefined ? { endStep: q.end_step } : {}),
        maxResults: q.max_results ?? HISTORY_BULK_POINTS_MAX,
      });
      return sendJsonList(
        reply,
        'metrics',
        metrics.map(({ runId, ...m }) => ({ ...mlflowMetric(m), run_id: runId })),
      );
    },
  });
}
