import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import { datasetNameSchema } from '../../data/index.js';
import {
  compareBodySchema,
  comparisonResultSchema,
  latestResultSchema,
  validationResultSchema,
} from '../../data/quality/index.js';
import { route } from '../route.js';

const tags = ['data quality'];
const versionParams = z.strictObject({ name: datasetNameSchema, version: z.string().min(1).max(300) });
const tableQuery = z.strictObject({ table: z.string().min(1).optional() });

/** Quality suites run over dataset versions, their stored results, suggestions, and comparisons. */
export function registerDataQualityRoutes(app: FastifyInstance, s: Services): void {
  const q = s.dataQuality;
  const ref = (p: { name: string; version: string }) => `${p.name}@${p.version}`;
  route(app, {
    method: 'POST',
    url: '/api/v1/datasets/:name/versions/:version/validations',
    permission: 'write',
    summary:
      'Run a quality suite (YAML) over a version table; the suite and the result are stored with the version',
    tags,
    params: versionParams,
    body: z.strictObject({
      suite: z
        .string()
        .min(1)
        .max(1024 * 1024),
      table: z.string().min(1).optional(),
    }),
    response: { 201: validationResultSchema },
    handler: async (req, reply) => {
      const result = await q.validate({
        actor: req.principal.name,
        ref: ref(req.params),
        suiteYaml: req.body.suite,
        ...(req.body.table ? { table: req.body.table } : {}),
      });
      return reply.status(201).send(result);
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/datasets/:name/versions/:version/validations',
    permission: 'read',
    summary: 'Stored validation results of a version, newest first',
    tags,
    params: versionParams,
    querystring: z.strictObject({ suite: z.string().min(1).optional() }),
    response: { 200: z.object({ validations: z.array(validationResultSchema) }) },
    handler: async (req) => ({
      validations: await q.results(ref(req.params), req.query.suite ? { suite: req.query.suite } : {}),
    }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/datasets/:name/versions/:version/validations/latest',
    permission: 'read',
    summary: 'The newest result of each suite run on a version',
    tags,
    params: versionParams,
    response: { 200: z.object({ latest: z.array(latestResultSchema) }) },
    handler: async (req) => {
      const v = await s.data.versions.resolve(ref(req.params));
      return { latest: await q.latestResults(v.id) };
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/datasets/:name/versions/:version/suggested-suite',
    permission: 'read',
    summary: "A draft quality suite (YAML) from a version table's stored profile",
    tags,
    params: versionParams,
    querystring: tableQuery,
    response: { 200: z.object({ yaml: z.string() }) },
    handler: async (req) => q.suggest(ref(req.params), req.query.table ? { table: req.query.table } : {}),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/datasets/-/compare',
    permission: 'read',
    summary: 'Compare two tables (versions or profiles): schema differences, per-column drift tests, verdict',
    tags,
    body: compareBodySchema,
    bodyLimit: 64 * 1024 * 1024,
    response: { 200: comparisonResultSchema },
    handler: async (req) => {
      const { reference, current, table, ...options } = req.body;
      return q.compare({ reference, current, ...(table ? { table } : {}), options });
    },
  });
}
