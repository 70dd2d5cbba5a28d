import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  addResultSchema,
  createVersionBodySchema,
  datasetDiffSchema,
  datasetNameSchema,
  datasetSummarySchema,
  datasetVersionSchema,
  missingBlobsBodySchema,
  sha256Schema,
  versionSummarySchema,
} from '../../data/index.js';
import { acceptRawBodies } from '../raw-body.js';
import { route } from '../route.js';

const tags = ['data'];
const selector = z.string().min(1).max(300);
const versionParams = z.strictObject({ name: datasetNameSchema, version: selector });

/** Dataset versions under /api/v1/datasets: list, show, history, blob upload, commit, files, diff, tags. */
export function registerDataRoutes(app: FastifyInstance, s: Services): void {
  const v = s.data.versions;
  route(app, {
    method: 'GET',
    url: '/api/v1/datasets',
    permission: 'read',
    summary: 'List datasets with their newest version',
    tags,
    response: { 200: z.object({ datasets: z.array(datasetSummarySchema) }) },
    handler: async () => ({ datasets: await v.listDatasets() }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/datasets/:name/versions',
    permission: 'read',
    summary: 'Versions of a dataset, newest first, with parents and tags',
    tags,
    params: z.strictObject({ name: datasetNameSchema }),
    response: { 200: z.object({ versions: z.array(versionSummarySchema) }) },
    handler: async (req) => ({ versions: await v.listVersions(req.params.name) }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/datasets/:name/versions/:version',
    permission: 'read',
    summary: 'A version by number, tag, digest (prefix) or "latest": manifest, tables, lineage',
    tags,
    params: versionParams,
    response: { 200: datasetVersionSchema },
    handler: async (req) => v.resolve(`${req.params.name}@${req.params.version}`),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/datasets/:name/versions/:version/files/*',
    permission: 'read',
    summary: 'Download one file of a version (verified against its hash while streaming)',
    tags,
    params: versionParams.extend({ '*': z.string().min(1).max(1024) }),
    handler: async (req, reply) => {
      const f = await v.openFile(`${req.params.name}@${req.params.version}`, req.params['*']);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', f.size)
        .header('x-sextant-sha256', f.sha256)
        .send(f.stream);
    },
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/datasets/-/blobs/missing',
    permission: 'write',
    summary: 'Which of these blobs the server lacks (upload only those)',
    tags,
    body: missingBlobsBodySchema,
    response: { 200: z.object({ missing: z.array(z.string()) }) },
    // A folder of a million files asks about a million blobs in one call.
    bodyLimit: 256 * 1024 * 1024,
    handler: async (req) => ({ missing: await v.missingBlobs(req.body.blobs) }),
  });
  app.register(async (scope) => {
    acceptRawBodies(scope);
    route(scope, {
      method: 'PUT',
      url: '/api/v1/datasets/-/blobs/:sha256',
      permission: 'write',
      summary: 'Upload the raw bytes of one file; refused unless they hash to the sha256 in the path',
      tags,
      params: z.strictObject({ sha256: sha256Schema }),
      response: { 201: z.object({ sha256: z.string(), size: z.number() }) },
      handler: async (req, reply) => {
        const content = (req.body as Readable | undefined) ?? '';
        const info = await v.putBlob({ sha256: req.params.sha256, content });
        return reply.status(201).send(info);
      },
    });
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/datasets/:name/versions',
    permission: 'write',
    summary: 'Commit a version from a manifest of stored blobs (same content twice returns the existing one)',
    tags,
    params: z.strictObject({ name: datasetNameSchema }),
    body: createVersionBodySchema,
    response: { 200: addResultSchema, 201: addResultSchema },
    bodyLimit: 512 * 1024 * 1024,
    handler: async (req, reply) => {
      const result = await v.create({ actor: req.principal.name, dataset: req.params.name, ...req.body });
      return reply.status(result.created ? 201 : 200).send(result);
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/datasets/-/diff',
    permission: 'read',
    summary: 'Files added, removed and changed between two versions; tables compared from their profiles',
    tags,
    querystring: z.strictObject({ a: selector, b: selector }),
    response: { 200: datasetDiffSchema },
    handler: async (req) => v.diff(req.query.a, req.query.b),
  });
  route(app, {
    method: 'PUT',
    url: '/api/v1/datasets/:name/tags/:tag',
    permission: 'write',
    summary: 'Point a tag at a version (tags move; audited)',
    tags,
    params: z.strictObject({ name: datasetNameSchema, tag: z.string().min(1).max(64) }),
    body: z.strictObject({ version: selector }),
    response: { 200: datasetVersionSchema },
    handler: async (req) =>
      v.tag({
        actor: req.principal.name,
        ref: `${req.params.name}@${req.body.version}`,
        tag: req.params.tag,
      }),
  });
}
