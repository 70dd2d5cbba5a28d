import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../../app/index.js';
import { mlflowRoute } from './mlflow-route.js';
import { fromKeyValues, int64, keyValue, mlflowExperiment, repeated } from './wire.js';

const experimentId = z.string().min(1).max(32);
const viewType = z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']);

/** experiments/*: MLflow's experiment endpoints. */
export function registerMlflowExperimentRoutes(app: FastifyInstance, s: Services): void {
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'experiments/create',
    permission: 'write',
    summary: 'MLflow: create an experiment',
    input: z.strictObject({
      name: z.string().trim().min(1).max(500),
      artifact_location: z.string().max(2000).optional(),
      tags: z.array(keyValue).max(100).optional(),
    }),
    handler: async (b, req) => {
      const e = await s.experiments.create({
        actor: req.principal.name,
        name: b.name,
        ...(b.artifact_location ? { artifactLocation: b.artifact_location } : {}),
        tags: fromKeyValues(b.tags),
      });
      return { experiment_id: e.id };
    },
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'experiments/get',
    permission: 'read',
    summary: 'MLflow: get an experiment',
    input: z.strictObject({ experiment_id: experimentId }),
    handler: async (q) => ({ experiment: mlflowExperiment(await s.experiments.get(q.experiment_id)) }),
  });
  mlflowRoute(app, {
    methods: ['GET'],
    path: 'experiments/get-by-name',
    permission: 'read',
    summary: 'MLflow: get an experiment by name',
    input: z.strictObject({ experiment_name: z.string().min(1).max(500) }),
    handler: async (q) => ({
      experiment: mlflowExperiment(await s.experiments.getByName(q.experiment_name)),
    }),
  });
  for (const method of ['GET', 'POST'] as const) {
    mlflowRoute(app, {
      methods: [method],
      path: 'experiments/search',
      permission: 'read',
      summary: 'MLflow: search experiments',
      input: z.strictObject({
        max_results: int64.optional(),
        page_token: z.string().max(1000).optional(),
        filter: z.string().max(10_000).optional(),
        order_by: method === 'GET' ? repeated(z.string()).optional() : z.array(z.string()).optional(),
        view_type: viewType.optional(),
      }),
      handler: async (b) => {
        const page = await s.experiments.search({
          maxResults: b.max_results ?? 1000,
          ...(b.page_token ? { pageToken: b.page_token } : {}),
          ...(b.filter ? { filter: b.filter } : {}),
          ...(b.order_by ? { orderBy: b.order_by } : {}),
          viewType: b.view_type ?? 'ACTIVE_ONLY',
        });
        return {
          experiments: page.experiments.map(mlflowExperiment),
          ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}),
        };
      },
    });
  }
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'experiments/search-datasets',
    permission: 'read',
    summary: "MLflow: the datasets the experiments' runs read, newest first",
    input: z.strictObject({ experiment_ids: z.array(experimentId).max(20).optional() }),
    handler: async (b) => ({
      dataset_summaries: (await s.experiments.datasetSummaries(b.experiment_ids ?? [])).map((d) => ({
        experiment_id: d.experimentId,
        name: d.name,
        digest: d.digest,
        ...(d.context ? { context: d.context } : {}),
      })),
    }),
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'experiments/update',
    permission: 'write',
    summary: 'MLflow: rename an experiment',
    input: z.strictObject({ experiment_id: experimentId, new_name: z.string().trim().min(1).max(500) }),
    handler: async (b, req) => {
      await s.experiments.rename({ actor: req.principal.name, id: b.experiment_id, name: b.new_name });
      return {};
    },
  });
  for (const [path, action] of [
    ['experiments/delete', 'delete'],
    ['experiments/restore', 'restore'],
  ] as const) {
    mlflowRoute(app, {
      methods: ['POST'],
      path,
      permission: 'write',
      summary: `MLflow: ${action} an experiment`,
      input: z.strictObject({ experiment_id: experimentId }),
      handler: async (b, req) => {
        await s.experiments[action](req.principal.name, b.experiment_id);
        return {};
      },
    });
  }
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'experiments/set-experiment-tag',
    permission: 'write',
    summary: 'MLflow: set an experiment tag',
    input: z.strictObject({
      experiment_id: experimentId,
      key: z.string().min(1).max(250),
      value: z.string().max(8000),
    }),
    handler: async (b, req) => {
      await s.experiments.setTag({
        actor: req.principal.name,
        id: b.experiment_id,
        key: b.key,
        value: b.value,
      });
      return {};
    },
  });
  mlflowRoute(app, {
    methods: ['POST'],
    path: 'experiments/delete-experiment-tag',
    permission: 'write',
    summary: 'MLflow: delete an experiment tag',
    input: z.strictObject({ experiment_id: experimentId, key: z.string().min(1).max(250) }),
    handler: async (b, req) => {
      await s.experiments.deleteTag({ actor: req.principal.name, id: b.experiment_id, key: b.key });
      return {};
    },
  });
}
