import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { registerEndpointVersion, type Services } from '../../app/index.js';
import {
  type Actor,
  cardFieldsSchema,
  createModelBodySchema,
  modelCardSchema,
  modelNameSchema,
  modelVersionSchema,
  registerEndpointBodySchema,
  registeredModelSchema,
  registerFileQuerySchema,
  registerFromRunBodySchema,
  versionNumberSchema,
} from '../../registry/index.js';
import { acceptRawBodies } from '../raw-body.js';
import { route } from '../route.js';
import { registerRegistryGovernanceRoutes } from './registry-governance.js';

const tags = ['registry'];
const modelParams = z.strictObject({ name: modelNameSchema });
const versionParams = z.strictObject({ name: modelNameSchema, version: versionNumberSchema });
const ok = z.object({ ok: z.literal(true) });
const pageQuery = z.strictObject({
  q: z.string().max(256).optional(),
  offset: z.coerce.number().int().min(0).default(0),
  maxResults: z.coerce.number().int().min(1).max(1000).default(100),
});
const tagPatch = z.record(z.string().min(1).max(250), z.string().max(8000).nullable());

const actorOf = (req: FastifyRequest): Actor => ({ name: req.principal.name, role: req.principal.role });

/** The native registry API under /api/v1: models, versions, aliases and history, promotions, policies, cards. */
export function registerRegistryRoutes(app: FastifyInstance, s: Services): void {
  const r = s.registry;
  route(app, {
    method: 'GET',
    url: '/api/v1/models',
    permission: 'read',
    summary: 'List registered models',
    tags,
    querystring: pageQuery,
    response: { 200: z.object({ models: z.array(registeredModelSchema), more: z.boolean() }) },
    handler: async (req) =>
      r.models.list({
        ...(req.query.q ? { nameContains: req.query.q } : {}),
        offset: req.query.offset,
        limit: req.query.maxResults,
      }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/models',
    permission: 'write',
    summary: 'Create a registered model (409 if the name exists after URL-decoding, NFKC and case folding)',
    tags,
    body: createModelBodySchema,
    response: { 201: registeredModelSchema },
    handler: async (req, reply) =>
      reply.status(201).send(await r.models.create({ actor: actorOf(req), ...req.body })),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/models/:name',
    permission: 'read',
    summary: 'Get a registered model with its aliases',
    tags,
    params: modelParams,
    response: { 200: registeredModelSchema },
    handler: async (req) => r.models.get(req.params.name),
  });
  route(app, {
    method: 'PATCH',
    url: '/api/v1/models/:name',
    permission: 'write',
    summary: 'Rename a model, change its description or tags (null removes a tag)',
    tags,
    params: modelParams,
    body: z.strictObject({
      newName: modelNameSchema.optional(),
      description: z.string().max(20_000).optional(),
      tags: tagPatch.optional(),
    }),
    response: { 200: registeredModelSchema },
    handler: async (req) => r.models.update({ actor: actorOf(req), name: req.params.name, ...req.body }),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/models/:name',
    permission: 'write',
    summary: 'Soft-delete a model (refused while it has aliases)',
    tags,
    params: modelParams,
    response: { 200: ok },
    handler: async (req) => {
      await r.models.remove({ actor: actorOf(req), name: req.params.name });
      return { ok: true as const };
    },
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/models/:name/versions',
    permission: 'read',
    summary: "List a model's versions, newest first",
    tags,
    params: modelParams,
    querystring: pageQuery.omit({ q: true }),
    response: { 200: z.object({ versions: z.array(modelVersionSchema), more: z.boolean() }) },
    handler: async (req) =>
      r.versions.list({ model: req.params.name, offset: req.query.offset, limit: req.query.maxResults }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/models/:name/versions',
    permission: 'write',
    summary: "Register a run's model artifact as the next version (creates the model if needed)",
    tags,
    params: modelParams,
    body: registerFromRunBodySchema,
    response: { 201: modelVersionSchema },
    handler: async (req, reply) =>
      reply
        .status(201)
        .send(await r.versions.registerFromRun({ actor: actorOf(req), model: req.params.name, ...req.body })),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/models/:name/versions/:ref',
    permission: 'read',
    summary: 'Get a version by number, alias or "latest"',
    tags,
    params: z.strictObject({ name: modelNameSchema, ref: z.string().min(1).max(64) }),
    response: { 200: modelVersionSchema },
    handler: async (req) => r.versions.resolve(`${req.params.name}@${req.params.ref}`),
  });
  route(app, {
    method: 'PATCH',
    url: '/api/v1/models/:name/versions/:version',
    permission: 'write',
    summary: "Change a version's description, tags or model-card fields",
    tags,
    params: versionParams,
    body: z.strictObject({
      description: z.string().max(20_000).optional(),
      tags: tagPatch.optional(),
      card: cardFieldsSchema.optional(),
    }),
    response: { 200: modelVersionSchema },
    handler: async (req) =>
      r.versions.update({
        actor: actorOf(req),
        model: req.params.name,
        version: req.params.version,
        ...req.body,
      }),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/models/:name/versions/:version',
    permission: 'write',
    summary: 'Soft-delete a version (refused while an alias holds it)',
    tags,
    params: versionParams,
    response: { 200: ok },
    handler: async (req) => {
      await r.versions.remove({ actor: actorOf(req), model: req.params.name, version: req.params.version });
      return { ok: true as const };
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/models/:name/versions/:ref/download',
    permission: 'read',
    summary: "Download a version's model file (verified against its hash while streaming)",
    tags,
    params: z.strictObject({ name: modelNameSchema, ref: z.string().min(1).max(64) }),
    handler: async (req, reply) => {
      const { file, stream } = await r.versions.download(`${req.params.name}@${req.params.ref}`);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', file.size)
        .header('x-sextant-sha256', file.sha256)
        .send(stream);
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/models/:name/versions/:ref/card',
    permission: 'read',
    summary: 'The model card of a version, as Markdown or HTML',
    tags,
    params: z.strictObject({ name: modelNameSchema, ref: z.string().min(1).max(64) }),
    querystring: z.strictObject({ format: z.enum(['markdown', 'html']).default('markdown') }),
    response: { 200: modelCardSchema },
    handler: async (req) => r.cards.render(`${req.params.name}@${req.params.ref}`, req.query.format),
  });
  app.register(async (scope) => {
    acceptRawBodies(scope);
    route(scope, {
      method: 'PUT',
      url: '/api/v1/models/:name/versions/file',
      permission: 'write',
      summary: 'Register an uploaded model file (raw body; ONNX is opened and checked) as the next version',
      tags,
      params: modelParams,
      querystring: registerFileQuerySchema,
      response: { 201: modelVersionSchema },
      handler: async (req, reply) => {
        const content = (req.body as Readable | undefined) ?? '';
        const version = await r.versions.registerFile({
          actor: actorOf(req),
          model: req.params.name,
          content,
          ...req.query,
        });
        return reply.status(201).send(version);
      },
    });
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/models/:name/versions/endpoint',
    // The server will call the URL given (like a webhook's): admins only, as for webhooks.
    permission: 'admin',
    summary:
      'Register an external model server (MLflow /invocations, Open Inference Protocol, JSON + mapping) as the next version; the server is probed for its identity',
    tags,
    params: modelParams,
    body: registerEndpointBodySchema,
    response: { 201: modelVersionSchema },
    handler: async (req, reply) => {
      const version = await registerEndpointVersion(s, {
        actor: actorOf(req),
        model: req.params.name,
        body: req.body,
      });
      return reply.status(201).send(version);
    },
  });

  registerRegistryGovernanceRoutes(app, s);
}
