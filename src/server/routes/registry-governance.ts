import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  type Actor,
  aliasAtSchema,
  aliasEventSchema,
  aliasSchema,
  checkPromotionBodySchema,
  decideBodySchema,
  historyQuerySchema,
  modelNameSchema,
  openPromotionBodySchema,
  policyBodySchema,
  policyViewSchema,
  promotionCheckSchema,
  promotionRequestSchema,
  promotionStatusSchema,
  rejectBodySchema,
  rollbackBodySchema,
  rollbackResultSchema,
  setAliasBodySchema,
} from '../../registry/index.js';
import { route } from '../route.js';

const tags = ['registry'];
const modelParams = z.strictObject({ name: modelNameSchema });
const actorOf = (req: FastifyRequest): Actor => ({ name: req.principal.name, role: req.principal.role });

/** Aliases and their history, rollback, policies and promotion requests under /api/v1. */
export function registerRegistryGovernanceRoutes(app: FastifyInstance, s: Services): void {
  const r = s.registry;
  route(app, {
    method: 'PUT',
    url: '/api/v1/models/:name/aliases/:alias',
    permission: 'write',
    summary: 'Point an unprotected alias at a version (protected aliases move through promotion requests)',
    tags,
    params: z.strictObject({ name: modelNameSchema, alias: aliasSchema }),
    body: setAliasBodySchema,
    response: { 200: aliasEventSchema },
    handler: async (req) =>
      r.aliases.set({ actor: actorOf(req), model: req.params.name, alias: req.params.alias, ...req.body }),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/models/:name/aliases/:alias',
    permission: 'write',
    summary: 'Remove an unprotected alias',
    tags,
    params: z.strictObject({ name: modelNameSchema, alias: aliasSchema }),
    response: { 200: aliasEventSchema },
    handler: async (req) =>
      r.aliases.delete({ actor: actorOf(req), model: req.params.name, alias: req.params.alias }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/models/:name/history',
    permission: 'read',
    summary: 'Alias history (who, when, from, to, why, approvals); with ?at=, the holder at that time',
    tags,
    params: modelParams,
    querystring: historyQuerySchema,
    response: { 200: z.object({ events: z.array(aliasEventSchema), at: z.array(aliasAtSchema).optional() }) },
    handler: async (req) => {
      const events = await r.aliases.history({ model: req.params.name, alias: req.query.alias });
      if (!req.query.at) return { events };
      return {
        events,
        at: await r.aliases.at({ model: req.params.name, alias: req.query.alias, at: req.query.at }),
      };
    },
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/models/:name/rollback',
    permission: 'write',
    summary:
      'Move an alias back to its previous holder (at once for an admin when the policy allows; else a request)',
    tags,
    params: modelParams,
    body: rollbackBodySchema,
    response: { 200: rollbackResultSchema },
    handler: async (req) =>
      r.promotions.rollback({ actor: actorOf(req), model: req.params.name, ...req.body }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/models/:name/policy',
    permission: 'read',
    summary: 'The promotion policy that governs a model (its own, the default, or the built-in)',
    tags,
    params: modelParams,
    response: { 200: policyViewSchema },
    handler: async (req) => r.policies.show(req.params.name),
  });
  route(app, {
    method: 'PUT',
    url: '/api/v1/models/:name/policy',
    permission: 'admin',
    summary: "Store a model's promotion policy (YAML)",
    tags,
    params: modelParams,
    body: policyBodySchema,
    response: { 200: policyViewSchema },
    handler: async (req) =>
      r.policies.set({ actor: actorOf(req), model: req.params.name, yaml: req.body.yaml }),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/registry/policy',
    permission: 'read',
    summary: 'The default promotion policy',
    tags,
    response: { 200: policyViewSchema },
    handler: async () => r.policies.show(),
  });
  route(app, {
    method: 'PUT',
    url: '/api/v1/registry/policy',
    permission: 'admin',
    summary: 'Store the default promotion policy (YAML)',
    tags,
    body: policyBodySchema,
    response: { 200: policyViewSchema },
    handler: async (req) => r.policies.set({ actor: actorOf(req), yaml: req.body.yaml }),
  });

  route(app, {
    method: 'POST',
    url: '/api/v1/promotions',
    permission: 'write',
    summary: 'Open a promotion request: move an alias to a version once approved and its gates pass',
    tags,
    body: openPromotionBodySchema,
    response: { 201: promotionRequestSchema },
    handler: async (req, reply) =>
      reply.status(201).send(await r.promotions.open({ actor: actorOf(req), ...req.body })),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/promotions/check',
    permission: 'read',
    summary: 'Dry run: the gates a promotion of a version to an alias would face now (nothing is written)',
    tags,
    body: checkPromotionBodySchema,
    response: { 200: promotionCheckSchema },
    handler: async (req) => r.promotions.check(req.body),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/promotions',
    permission: 'read',
    summary: 'List promotion requests, newest first',
    tags,
    querystring: z.strictObject({
      model: modelNameSchema.optional(),
      status: promotionStatusSchema.optional(),
      maxResults: z.coerce.number().int().min(1).max(1000).default(100),
    }),
    response: { 200: z.object({ requests: z.array(promotionRequestSchema) }) },
    handler: async (req) => ({
      requests: await r.promotions.list({
        model: req.query.model,
        status: req.query.status,
        limit: req.query.maxResults,
      }),
    }),
  });
  const idParams = z.strictObject({ id: z.string().min(1).max(64) });
  route(app, {
    method: 'GET',
    url: '/api/v1/promotions/:id',
    permission: 'read',
    summary: 'A promotion request with its decisions and gate results',
    tags,
    params: idParams,
    response: { 200: promotionRequestSchema },
    handler: async (req) => r.promotions.get(req.params.id),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/promotions/:id/approve',
    permission: 'approve',
    summary: 'Approve a request (not your own, nor one for a run you authored); enough approvals execute it',
    tags,
    params: idParams,
    body: decideBodySchema,
    response: { 200: promotionRequestSchema },
    handler: async (req) =>
      r.promotions.decide({
        actor: actorOf(req),
        id: req.params.id,
        decision: 'approve',
        comment: req.body.comment,
      }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/promotions/:id/reject',
    permission: 'approve',
    summary: 'Reject a request, with a comment',
    tags,
    params: idParams,
    body: rejectBodySchema,
    response: { 200: promotionRequestSchema },
    handler: async (req) =>
      r.promotions.decide({
        actor: actorOf(req),
        id: req.params.id,
        decision: 'reject',
        comment: req.body.comment,
      }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/promotions/:id/cancel',
    permission: 'write',
    summary: 'Withdraw a pending request (its requester or an admin)',
    tags,
    params: idParams,
    response: { 200: promotionRequestSchema },
    handler: async (req) => r.promotions.cancel({ actor: actorOf(req), id: req.params.id }),
  });
}
