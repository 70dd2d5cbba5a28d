import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { budgetCreatedSchema, budgetSchema } from '../../src/cost/budgets/index.js';
import { savingsReportSchema } from '../../src/cost/reaper/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { nativeError, uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * Budgets and the reaper through the whole HTTP app, on both backends: budget input errors name the
 * field and the scope; a deployment nobody calls unloads its model, and the next request wakes it and
 * succeeds (no request fails), its cold start recorded in the savings report; /metrics carries the
 * queue gauges an autoscaler reads.
 */

const admin = { name: 'ada', role: 'admin' as const };
const post = (app: FastifyInstance, url: string, payload: unknown) =>
  app.inject({ method: 'POST', url, payload: payload as object });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachBackend('budgets and the idle reaper over HTTP', (getStore) => {
  let t: TestApp;
  let home: string;
  let deployment: string;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-reaper-'));
    // 0.005 minutes: a deployment is unloaded after 300 ms without a request.
    fs.writeFileSync(path.join(home, 'reaper.yaml'), 'deployments:\n  idleMinutes: 0.005\n');
    t = await createTestApp(getStore(), { SEXTANT_HOME: home });
    const model = uniq('tiny');
    await t.services.registry.versions.registerFile({
      actor: admin,
      model,
      filename: 'model.onnx',
      content: tinyOnnxModel([0.5, -0.25, 1]),
    });
    await t.services.registry.aliases.set({ actor: admin, model, alias: 'live', version: 1 });
    deployment = uniq('idle');
    await t.services.serving.deployments.create({ actor: 'ada', name: deployment, model: `${model}@live` });
  });
  afterAll(async () => {
    await t.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  describe('budgets', () => {
    it('refuses a scope that does not exist, and bad input, naming it', async () => {
      const missing = nativeError(
        await post(t.app, '/api/v1/budgets', {
          name: uniq('b'),
          scope: { kind: 'experiment', value: '424242' },
          period: 'month',
          amount: 100,
        }),
        404,
        'NOT_FOUND',
      );
      expect(missing.message).toContain("experiment '424242'");
      const bad = nativeError(
        await post(t.app, '/api/v1/budgets', {
          name: uniq('b'),
          scope: { kind: 'team', value: 'ml' },
          period: 'custom',
          from: '2026-01-01T00:00:00Z',
          amount: -1,
        }),
        400,
        'VALIDATION_FAILED',
      );
      expect(bad.message).toMatch(/amount|to/);
    });

    it('creates, lists, raises and removes a budget', async () => {
      const exp = await t.services.experiments.create({ actor: 'ada', name: uniq('exp') });
      const name = uniq('b');
      const res = await post(t.app, '/api/v1/budgets', {
        name,
        scope: { kind: 'experiment', value: exp.id },
        period: 'week',
        amount: 50,
        currency: 'EUR',
      });
      expect(res.statusCode, res.body).toBe(201);
      const created = budgetCreatedSchema.parse(res.json());
      expect(created.budget.softShare).toBe(0.8);
      const list = z
        .object({ budgets: z.array(budgetSchema) })
        .parse((await t.app.inject({ url: '/api/v1/budgets' })).json());
      expect(list.budgets.map((b) => b.name)).toContain(name);
      const raised = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/budgets/${name}`,
        payload: { amount: 80 },
      });
      expect(budgetSchema.parse(raised.json()).amount).toBe(80);
      expect(
        (await t.app.inject({ method: 'DELETE', url: `/api/v1/budgets/${created.budget.id}` })).statusCode,
      ).toBe(200);
      nativeError(await t.app.inject({ url: `/api/v1/budgets/${name}` }), 404, 'NOT_FOUND');
    });
  });

  describe('an idle deployment', () => {
    it('unloads its model, and the next request wakes it and succeeds, its cold start recorded', async () => {
      const predict = () =>
        post(t.app, `/api/v1/deployments/${deployment}/predict`, { instances: [[1, 2, 3]] });
      const first = await predict();
      expect(first.statusCode, first.body).toBe(200);

      const unloads = async () =>
        (await t.services.reaper.list()).filter(
          (a) => a.target === deployment && a.kind === 'deployment_unload',
        );
      for (let i = 0; i < 200 && (await unloads()).length === 0; i++) await sleep(25);
      expect(await unloads()).toHaveLength(1);
      // The model's session is gone from this process.
      expect(t.services.serving.host.open().map((r) => r.deployment.name)).not.toContain(deployment);

      const woken = await predict();
      expect(woken.statusCode, woken.body).toBe(200);
      expect(woken.json().predictions[0].prediction).toEqual(first.json().predictions[0].prediction);

      // Requests spaced around the idle time: whatever the reaper does between them, none fails.
      const statuses: number[] = [];
      for (const gap of [100, 250, 320, 400, 280, 350]) {
        await sleep(gap);
        statuses.push((await predict()).statusCode);
      }
      expect(statuses.every((s) => s === 200)).toBe(true);

      const wakes = (await t.services.reaper.list()).filter(
        (a) => a.target === deployment && a.kind === 'deployment_wake',
      );
      expect(wakes.length).toBeGreaterThanOrEqual(1);
      expect(wakes[0]?.coldStartMs).toBeTypeOf('number');
      const audited = await t.services.audit.list({ entityType: 'deployment', entityId: deployment });
      expect(audited.map((e) => e.action)).toEqual(
        expect.arrayContaining(['reaper.deployment_unload', 'reaper.deployment_wake']),
      );

      const savings = savingsReportSchema.parse(
        (await t.app.inject({ url: '/api/v1/reaper/savings' })).json(),
      );
      expect(savings.deployments.unloads).toBeGreaterThanOrEqual(1);
      expect(savings.deployments.coldStartMs.count).toBe(savings.deployments.wakes);
      expect(savings.deployments.hoursSaved).toBeGreaterThan(0);
    });
  });

  it('/metrics carries queue depth and worker busy share for autoscalers', async () => {
    await t.services.jobs.enqueue('jobs.probe', {});
    const res = await t.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/sextant_jobs_queue_depth\{queue="default",state="waiting"\} [1-9]/);
    expect(res.body).toContain('sextant_worker_busy_ratio');
  });
});
