import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../../app/index.js';
import { acceptRawBodies } from '../../raw-body.js';
import { route } from '../../route.js';
import { PROXY_ROOT, resolveProxyPath } from './artifacts.js';
import { int64 } from './wire.js';

const uploadId = z.string().regex(/^[0-9a-f]{32}$/, 'must be an upload id');
const pathParams = z.strictObject({ '*': z.string() });

/**
 * Where a part goes. MLflow's client PUTs each part to the URL it is handed, with only the headers it
 * is handed (it expects presigned object-store URLs): here the URL is this server's own part endpoint,
 * and the headers carry the caller's own authorization back to it, so part uploads stay authenticated.
 */
function partCredential(req: FastifyRequest, id: string, partNumber: number) {
  const auth = req.headers.authorization;
  return {
    part_number: partNumber,
    url: `${req.protocol}://${req.host}${PROXY_ROOT}/mpu/parts/${id}/${partNumber}`,
    headers: auth ? { authorization: auth } : {},
  };
}

/** MLflow's multipart artifact upload (mlflow_artifacts.proto: mpu/create, mpu/complete, mpu/abort). */
export function registerMlflowMultipartRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'POST',
    url: `${PROXY_ROOT}/mpu/create/*`,
    permission: 'write',
    summary: 'MLflow artifact proxy: start a multipart upload (one URL per part)',
    tags: ['mlflow'],
    params: pathParams,
    body: z.strictObject({ path: z.string().max(2048).optional(), num_parts: int64 }),
    handler: async (req) => {
      const { runId, path } = await resolveProxyPath(s, req.params['*'], { allowRoot: false });
      const up = await s.multipartUploads.create({
        actor: req.principal.name,
        runId,
        path,
        numParts: req.body.num_parts,
      });
      return {
        upload_id: up.uploadId,
        credentials: Array.from({ length: req.body.num_parts }, (_, i) =>
          partCredential(req, up.uploadId, i + 1),
        ),
      };
    },
  });
  route(app, {
    method: 'POST',
    url: `${PROXY_ROOT}/mpu/complete/*`,
    permission: 'write',
    summary: 'MLflow artifact proxy: join the uploaded parts into the artifact',
    tags: ['mlflow'],
    params: pathParams,
    body: z.strictObject({
      path: z.string().max(2048).optional(),
      upload_id: uploadId,
      parts: z
        .array(z.strictObject({ part_number: int64, etag: z.string().max(200), url: z.string().optional() }))
        .min(1),
    }),
    handler: async (req) => {
      const { runId, path } = await resolveProxyPath(s, req.params['*'], { allowRoot: false });
      await s.multipartUploads.complete({
        actor: req.principal.name,
        uploadId: req.body.upload_id,
        runId,
        path,
        parts: req.body.parts.map((p) => ({ partNumber: p.part_number, etag: p.etag })),
      });
      return {};
    },
  });
  route(app, {
    method: 'POST',
    url: `${PROXY_ROOT}/mpu/abort/*`,
    permission: 'write',
    summary: 'MLflow artifact proxy: abandon a multipart upload',
    tags: ['mlflow'],
    params: pathParams,
    body: z.strictObject({ path: z.string().max(2048).optional(), upload_id: uploadId }),
    handler: async (req) => {
      await resolveProxyPath(s, req.params['*'], { allowRoot: false });
      await s.multipartUploads.abort({ actor: req.principal.name, uploadId: req.body.upload_id });
      return {};
    },
  });
  app.register(async (scope) => {
    acceptRawBodies(scope);
    route(scope, {
      method: 'PUT',
      url: `${PROXY_ROOT}/mpu/parts/:upload_id/:part_number`,
      permission: 'write',
      summary: 'MLflow artifact proxy: upload one part of a multipart upload (streamed)',
      tags: ['mlflow'],
      params: z.strictObject({ upload_id: uploadId, part_number: int64 }),
      handler: async (req, reply) => {
        const part = await s.multipartUploads.putPart({
          uploadId: req.params.upload_id,
          partNumber: req.params.part_number,
          content: (req.body as Readable | undefined) ?? '',
        });
        return reply.header('etag', `"${part.etag}"`).send({});
      },
    });
  });
}
