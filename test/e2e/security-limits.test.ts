import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { metricSchema } from '../../src/tracking/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { historySchema, MLFLOW, mlflowErrorSchema, nativeErrorSchema, queryOf, uniq } from './helpers.js';

/*
 * Issue 16, finding 2: one viewer request froze the server for two minutes (the same run id 100 times
 * over a run of 300k points, read at once), get-history answered 20 MB unpaged, and very long
 * experiment_ids / order_by lists answered 500. Every history read is deduplicated, paged and capped;
 * long reads go in slices so that other requests are answered meanwhile; the lists answer 400.
 */

const POINTS = 300_000;
const bulkSchema = z.object({
  metrics: z.array(
    z.object({
      key: z.string(),
      value: z.number(),
      timestamp: z.number(),
      step: z.number(),
      run_id: z.string(),
    }),
  ),
});

describeEachBackend('a single request cannot exhaust the server', (getStore) => {
  let t: TestApp;
  let runId: string;
  beforeAll(async () => {
    t = await createTestApp(getStore());
    const exp = await t.services.experiments.create({ actor: 'test', name: uniq('limits') });
    const run = await t.services.runs.create({ actor: 'test', experimentId: exp.id });
    runId = run.id;
    // 300k points of one metric, written straight into the real table (logging them batch by batch
    // would take the test's whole time); steps 0..299999, timestamps rising with them.
    await sql`insert into run_numbers (run_id) values (${runId})`.execute(t.services.store.db);
    await sql`insert into metric_keys (name) values ('loss') on conflict (name) do nothing`.execute(
      t.services.store.db,
    );
    // The history names runs and keys by surrogate key (migration 029).
    await sql`
      with recursive s(x) as (select 0 union all select x + 1 from s where x < ${POINTS - 1})
      insert into metrics (run_num, key_id, value, is_nan, timestamp, step)
      select r.num, k.id, x * 0.5, 0, 1000 + x, x from s
      cross join run_numbers r cross join metric_keys k where r.run_id = ${runId} and k.name = 'loss'`.execute(
      t.services.store.db,
    );
  }, 120_000);
  afterAll(() => t.close());

  it('get-history pages: no more than 25,000 points per reply without max_results, every point once across pages', async () => {
    const first = await t.app.inject({
      method: 'GET',
      url: `${MLFLOW}/metrics/get-history${queryOf({ run_id: runId, metric_key: 'loss' })}`,
    });
    expect(first.statusCode, first.body.slice(0, 300)).toBe(200);
    const page = historySchema.parse(first.json());
    expect(page.metrics).toHaveLength(25_000);
    expect(page.next_page_token).toBeDefined();
    expect(first.headers['content-type']).toContain('application/json');

    let token = page.next_page_token;
    let seen = page.metrics.length;
    let lastStep = page.metrics.at(-1)!.step;
    while (token) {
      const res = await t.app.inject({
        method: 'GET',
        url: `${MLFLOW}/metrics/get-history${queryOf({ run_id: runId, metric_key: 'loss', max_results: 100_000, page_token: token })}`,
      });
      const next = historySchema.parse(res.json());
      expect(next.metrics[0]!.step).toBe(lastStep + 1);
      seen += next.metrics.length;
      lastStep = next.metrics.at(-1)!.step;
      token = next.next_page_token;
    }
    expect(seen).toBe(POINTS);
  }, 60_000);

  it('get-history refuses a page larger than the cap with 400 naming it', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `${MLFLOW}/metrics/get-history${queryOf({ run_id: runId, metric_key: 'loss', max_results: 50_000_000 })}`,
    });
    expect(res.statusCode).toBe(400);
    expect(mlflowErrorSchema.parse(res.json()).message).toContain('100000');
  });

  it('the native history caps its pages the same way', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${runId}/metrics/loss/history?maxResults=100000`,
    });
    expect(res.statusCode).toBe(200);
    const body = z
      .object({ metrics: z.array(metricSchema), nextPageToken: z.string().optional() })
      .parse(res.json());
    expect(body.metrics).toHaveLength(100_000);
    expect(body.nextPageToken).toBeDefined();
    const over = await t.app.inject({
      method: 'GET',
      url: `/api/v1/runs/${runId}/metrics/loss/history?maxResults=100001`,
    });
    expect(over.statusCode).toBe(400);
    expect(nativeErrorSchema.parse(over.json()).error.message).toContain('100000');
  }, 60_000);

  it('get-history-bulk-interval reads a run named 100 times once, sampled to max_results', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `${MLFLOW}/metrics/get-history-bulk-interval${queryOf({ run_ids: Array(100).fill(runId), metric_key: 'loss', max_results: 500 })}`,
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    const { metrics } = bulkSchema.parse(res.json());
    expect(metrics.length).toBeLessThanOrEqual(501);
    expect(metrics.length).toBeGreaterThanOrEqual(500);
    expect(new Set(metrics.map((m) => m.step)).size).toBe(metrics.length);
    expect(metrics[0]!.step).toBe(0);
    expect(metrics.at(-1)!.step).toBe(POINTS - 1);
  }, 60_000);

  it('bulk-interval keeps to the step interval', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `${MLFLOW}/metrics/get-history-bulk-interval${queryOf({ run_ids: [runId], metric_key: 'loss', start_step: 1000, end_step: 1999, max_results: 2500 })}`,
    });
    const { metrics } = bulkSchema.parse(res.json());
    expect(metrics.map((m) => m.step)).toEqual(Array.from({ length: 1000 }, (_, i) => 1000 + i));
  });

  it('other requests are answered while a long history read runs', async () => {
    const order: string[] = [];
    const big = t.app
      .inject({
        method: 'GET',
        url: `${MLFLOW}/metrics/get-history-bulk-interval${queryOf({ run_ids: [runId], metric_key: 'loss', max_results: 2500 })}`,
      })
      .then((r) => {
        order.push(`bulk ${r.statusCode}`);
      });
    // Let the big read start before asking for health.
    await new Promise((r) => setImmediate(r));
    const health = t.app.inject({ method: 'GET', url: '/healthz' }).then((r) => {
      order.push(`healthz ${r.statusCode}`);
    });
    await Promise.all([big, health]);
    expect(order).toEqual(['healthz 200', 'bulk 200']);
  }, 60_000);

  it('a search over 40,000 experiment ids answers 400 naming the limit, not 500', async () => {
    const ids = Array.from({ length: 40_000 }, (_, i) => String(i + 1));
    const res = await t.app.inject({
      method: 'POST',
      url: `${MLFLOW}/runs/search`,
      payload: { experiment_ids: ids },
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(400);
    expect(mlflowErrorSchema.parse(res.json()).message).toMatch(/experiment_ids: at most 1000/);
  });

  it('a search ordered by 5,000 terms answers 400 naming the limit, not 500', async () => {
    const orderBy = Array.from({ length: 5_000 }, (_, i) => `params.p${i} DESC`);
    const res = await t.app.inject({
      method: 'POST',
      url: `${MLFLOW}/runs/search`,
      payload: { experiment_ids: ['0'], order_by: orderBy },
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(400);
    expect(mlflowErrorSchema.parse(res.json()).message).toMatch(/order_by: at most \d+ terms/);
  });

  it('the same experiment id repeated is searched once', async () => {
    const exp = await t.services.runs.get(runId);
    const res = await t.app.inject({
      method: 'POST',
      url: `${MLFLOW}/runs/search`,
      payload: { experiment_ids: Array(5000).fill(exp.experimentId) },
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(z.object({ runs: z.array(z.unknown()) }).parse(res.json()).runs).toHaveLength(1);
  });
});
