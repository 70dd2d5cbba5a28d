import type { Services } from '../../app/index.js';
import type { ServingApi } from '../../client/serving-api.js';
import { parseOrThrow } from '../../core/validate.js';
import { explainOptionsSchema } from '../../governance/explain/explanation.schema.js';
import { predictionFilter } from '../../server/routes/serving.js';
import {
  describeWindow,
  exportPredictionsQuerySchema,
  listPredictionsQuerySchema,
  predictionIdSchema,
  prunePredictionsBodySchema,
} from '../../serving/index.js';

/** ServingApi served in-process from a local workspace. */
export function servingLocalApi(s: Services, actor: string): ServingApi {
  const d = () => s.serving.deployments;
  return {
    deployments: {
      create: (input) => d().create({ actor, ...input }),
      list: () => d().list(),
      get: (name) => d().get(name),
      update: (name, patch) => d().update({ actor, name, ...patch }),
      remove: (name) => d().remove({ actor, name }),
      stats: (name) => d().stats(name),
    },
    predictions: {
      list: async (q = {}) => {
        // Checked as the HTTP route checks its query string, so both transports refuse the same input.
        const parsed = parseOrThrow(listPredictionsQuerySchema, q);
        const { deployment: _d, modelVersion: _m, ...rest } = parsed;
        return s.serving.predictions.list({ ...rest, ...(await predictionFilter(s, parsed)) });
      },
      get: (id) => s.serving.predictions.get(parseOrThrow(predictionIdSchema, id, 'id')),
      prune: async (body) => {
        const { before } = parseOrThrow(prunePredictionsBodySchema, body);
        return s.serving.prune.prune({ actor, before: Date.parse(before) });
      },
      export: async (deployment, q, out) => {
        const { format, from, to } = parseOrThrow(exportPredictionsQuerySchema, q);
        const window = await s.serving.exports.window({ deployment, from, to });
        const count = await s.serving.exports.count(window);
        await s.serving.exports.write(window, format, out);
        return { count, window: describeWindow(window) };
      },
    },
    feedback: (items) => s.serving.feedback.submit({ actor, items }),
    trace: (id) => s.governance.trace.trace(id),
    explain: (id, opts = {}) =>
      s.governance.explain.explainPrediction(
        parseOrThrow(predictionIdSchema, id, 'id'),
        parseOrThrow(explainOptionsSchema, opts),
      ),
  };
}
