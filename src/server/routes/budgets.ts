import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../../app/index.js';
import {
  budgetCheckSchema,
  budgetCreatedSchema,
  budgetSchema,
  createBudgetSchema,
  updateBudgetSchema,
} from '../../cost/budgets/index.js';
import { route } from '../route.js';

const tags = ['budgets'];
/** A budget by id (bud_...) or by name. */
const refParams = z.strictObject({ ref: z.string().min(1).max(200) });

/** Budgets under /api/v1/budgets: anyone may read them; setting a limit on spend takes admin. */
export function registerBudgetRoutes(app: FastifyInstance, s: Services): void {
  route(app, {
    method: 'GET',
    url: '/api/v1/budgets',
    permission: 'read',
    summary: 'List budgets with their current period, spend, forecast and state',
    tags,
    response: { 200: z.object({ budgets: z.array(budgetSchema) }) },
    handler: async () => ({ budgets: await s.budgets.list() }),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/budgets',
    permission: 'admin',
    summary: 'Create a budget on an experiment, a run tag key=value or a team (the scope must exist)',
    tags,
    body: createBudgetSchema,
    response: { 201: budgetCreatedSchema },
    handler: async (req, reply) =>
      reply.status(201).send(await s.budgets.create({ actor: req.principal.name, ...req.body })),
  });
  route(app, {
    method: 'POST',
    url: '/api/v1/budgets/check',
    permission: 'admin',
    summary: 'Check every budget against spend now (what the cost.budgets job does each minute)',
    tags,
    response: {
      200: z.object({
        checks: z.array(budgetCheckSchema),
        failed: z.array(z.object({ budgetId: z.string(), error: z.string() })),
      }),
    },
    handler: async () => s.budgets.checkAll(),
  });
  route(app, {
    method: 'GET',
    url: '/api/v1/budgets/:ref',
    permission: 'read',
    summary: 'Get a budget by id or name',
    tags,
    params: refParams,
    response: { 200: budgetSchema },
    handler: async (req) => s.budgets.get(req.params.ref),
  });
  route(app, {
    method: 'PATCH',
    url: '/api/v1/budgets/:ref',
    permission: 'admin',
    summary: 'Change the amount or soft share; a raise above the spend frees held work',
    tags,
    params: refParams,
    body: updateBudgetSchema,
    response: { 200: budgetSchema },
    handler: async (req) => s.budgets.update({ actor: req.principal.name, ref: req.params.ref, ...req.body }),
  });
  route(app, {
    method: 'DELETE',
    url: '/api/v1/budgets/:ref',
    permission: 'admin',
    summary: 'Remove a budget (soft): it refuses and holds nothing from now on',
    tags,
    params: refParams,
    response: { 200: z.object({ ok: z.literal(true) }) },
    handler: async (req) => {
      await s.budgets.remove({ actor: req.principal.name, ref: req.params.ref });
      return { ok: true as const };
    },
  });
}
