import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import { auditEntrySchema, auditVerifyResultSchema } from '../../audit/index.js';
import {
  createdTokenSchema,
  principalSchema,
  roleSchema,
  type TokenOrigin,
  tokenNameSchema,
  tokenSchema,
  userNameSchema,
  userSchema,
} from '../../auth/index.js';
import { route } from '../route.js';

const checkpointSchema = z.object({
  seq: z.number(),
  hash: z.string(),
  at: z.number(),
  signature: z.string(),
  prevSeq: z.number().nullable().optional(),
  prevSignature: z.string().nullable().optional(),
});

/** Users, tokens and the audit log: /api/v1/users, /api/v1/tokens, /api/v1/audit. */
export function registerAdminRoutes(app: FastifyInstance, s: Services): void {
  // Over HTTP with auth off, whoever reached the port minted it: such a token dies when auth goes on.
  const mintedUnder = (): TokenOrigin => (s.config.authMode === 'off' ? 'auth-off' : 'authenticated');
  route(app, {
    method: 'GET',
    url: '/api/v1/me',
    permission: 'read',
    summary: 'Who the caller is',
    tags: ['auth'],
    response: { 200: principalSchema },
    handler: async (req) => req.principal,
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/users',
    permission: 'admin',
    summary: 'List users',
    tags: ['auth'],
    response: { 200: z.object({ users: z.array(userSchema) }) },
    handler: async () => ({ users: await s.auth.listUsers() }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/users',
    permission: 'admin',
    summary: 'Create a user',
    tags: ['auth'],
    body: z.strictObject({ name: userNameSchema, role: roleSchema }),
    response: { 201: userSchema },
    handler: async (req, reply) =>
      reply.status(201).send(await s.auth.createUser({ actor: req.principal.name, ...req.body })),
  });
  route(app, {
    method: 'PATCH',
    url: '/api/v1/users/:user',
    permission: 'admin',
    summary: "Change a user's role or disable the user",
    tags: ['auth'],
    params: z.strictObject({ user: z.string().min(1).max(64) }),
    body: z.strictObject({ role: roleSchema.optional(), disabled: z.literal(true).optional() }),
    response: { 200: userSchema },
    handler: async (req) => {
      const actor = req.principal.name;
      let user = await s.auth.getUser(req.params.user);
      if (req.body.role) user = await s.auth.setRole({ actor, user: req.params.user, role: req.body.role });
      if (req.body.disabled) user = await s.auth.disableUser({ actor, user: req.params.user });
      return user;
    },
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/tokens',
    permission: 'admin',
    summary: 'List API tokens (never their secrets)',
    tags: ['auth'],
    querystring: z.strictObject({ user: z.string().max(64).optional() }),
    response: { 200: z.object({ tokens: z.array(tokenSchema) }) },
    handler: async (req) => ({ tokens: await s.auth.listTokens(req.query.user) }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/tokens',
    permission: 'admin',
    summary: 'Create an API token; its secret is shown in this reply only',
    tags: ['auth'],
    body: z.strictObject({
      user: z.string().min(1).max(64),
      name: tokenNameSchema,
      expiresInDays: z.number().int().min(1).max(3650).optional(),
    }),
    response: { 201: createdTokenSchema },
    handler: async (req, reply) =>
      reply
        .status(201)
        .send(
          await s.auth.createToken({ actor: req.principal.name, ...req.body, mintedUnder: mintedUnder() }),
        ),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/tokens/:id/reissue',
    permission: 'admin',
    summary: 'Revoke a token and mint its replacement; its secret is shown in this reply only',
    tags: ['auth'],
    params: z.strictObject({ id: z.string().min(1).max(64) }),
    response: { 201: createdTokenSchema },
    handler: async (req, reply) =>
      reply.status(201).send(
        await s.auth.reissueToken({
          actor: req.principal.name,
          id: req.params.id,
          mintedUnder: mintedUnder(),
        }),
      ),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/tokens/:id',
    permission: 'admin',
    summary: 'Revoke an API token',
    tags: ['auth'],
    params: z.strictObject({ id: z.string().min(1).max(64) }),
    response: { 200: tokenSchema },
    handler: async (req) => s.auth.revokeToken({ actor: req.principal.name, id: req.params.id }),
  });

  route(app, {
    method: 'GET',
    url: '/api/v1/audit',
    permission: 'admin',
    summary: 'The newest audit entries, optionally for one entity',
    tags: ['audit'],
    querystring: z.strictObject({
      entityType: z.string().max(64).optional(),
      entityId: z.string().max(256).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
    response: { 200: z.object({ entries: z.array(auditEntrySchema) }) },
    handler: async (req) => ({ entries: await s.audit.list(req.query) }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/audit/verify',
    permission: 'admin',
    summary:
      'Verify the audit chain (edits, deletions, insertions, reordering, truncation, rollback); deep: also the governed tables',
    tags: ['audit'],
    body: z
      .strictObject({
        checkpoint: checkpointSchema.optional(),
        /** Also check the governed tables against what their last audit entries recorded. */
        deep: z.boolean().optional(),
      })
      .optional(),
    response: { 200: auditVerifyResultSchema },
    handler: async (req) =>
      s.audit.verify({
        ...(req.body?.checkpoint ? { externalCheckpoint: req.body.checkpoint } : {}),
        ...(req.body?.deep ? { deep: true } : {}),
      }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/audit/checkpoint',
    permission: 'admin',
    summary: 'Record a signed checkpoint of the audit head (keep a copy outside the database)',
    tags: ['audit'],
    response: { 200: z.object({ checkpoint: checkpointSchema.nullable() }) },
    handler: async () => ({ checkpoint: (await s.audit.checkpoint()) ?? null }),
  });
}
