import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  costReportSchema,
  MAX_COST_SERIES,
  priceBookSchema,
  type UsageRecord,
  usageRecordSchema,
} from '../../src/cost/index.js';
import { writeCreditCsv } from '../../src/ml/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';

const EXAMPLE = path.join(import.meta.dirname, '../../examples/prices.yaml');

describe('sextant cost: a metered run, the price book and the report from the CLI', () => {
  let home: string;
  let env: Record<string, string>;
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cost-'));
    env = { SEXTANT_HOME: home };
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('prices set validates and versions the book; a bad one exits 2 with one line naming the field', async () => {
    const set = await cli(env, 'cost', 'prices', 'set', '-f', EXAMPLE);
    expect(set.code, set.err).toBe(0);
    expect(set.out).toMatch(/price book v1 in force/);
    const bad = path.join(home, 'bad.yaml');
    fs.writeFileSync(bad, 'prices:\n  - { resource: tpu_hour, price: 1 }\n');
    const refused = await cli(env, 'cost', 'prices', 'set', '-f', bad);
    expect(refused.code).toBe(2);
    expect(refused.err.trim().split('\n')).toHaveLength(1);
    expect(refused.err).toMatch(/prices\.0\.resource: unknown resource 'tpu_hour'/);
    const shown = await cli(env, '--json', 'cost', 'prices', 'show');
    expect(priceBookSchema.parse(JSON.parse(shown.out)).version).toBe(1);
  });

  it('`run --` records the child process usage, and the report charges its experiment', async () => {
    // The child burns about half a second of its own CPU time and holds ~64 MB.
    const script =
      'const b = Buffer.alloc(64 * 2 ** 20, 1); const c0 = process.cpuUsage(); while ((process.cpuUsage(c0).user + process.cpuUsage(c0).system) < 5e5) {} console.log(b[7]);';
    const run = await cli(env, '--json', 'run', '-e', 'metered', '--', process.execPath, '-e', script);
    expect(run.code, run.err).toBe(0);
    const { runId } = JSON.parse(run.out.trim().split('\n').at(-1)!) as { runId: string };

    const usage = await cli(env, '--json', 'cost', 'usage', runId);
    const records = (JSON.parse(usage.out) as UsageRecord[]).map((r) => usageRecordSchema.parse(r));
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r).toMatchObject({ kind: 'run', runId });
    if (fs.existsSync('/proc/self/stat')) {
      expect(r.cpuSeconds!).toBeGreaterThan(0.3);
      expect(r.peakMemoryBytes! / 2 ** 20).toBeGreaterThan(64);
    }
    // Without a GPU (or nvidia-smi) the record says why there are no GPU figures.
    if (r.gpuDevices.length === 0) expect(r.notes.join()).toMatch(/no GPU figures: /);

    const report = costReportSchema.parse(
      JSON.parse((await cli(env, '--json', 'cost', 'report', '--by', 'experiment')).out),
    );
    expect(report.groups.map((g) => g.key)).toContain('metered');
    expect(report.priceBookVersion).toBe(1);

    const html = path.join(home, 'cost.html');
    const text = await cli(env, 'cost', 'report', '--by', 'run', '--compare', 'auto', '--html', html);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain(runId);
    expect(text.out).toMatch(/compared with/);
    const page = fs.readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<svg');
    // self-contained: nothing to fetch
    expect(page).not.toMatch(/<script|<link|src=|href=/);
  });

  it('`train` in the CLI process is metered: its run has a usage record with CPU time', async () => {
    const folder = path.join(home, 'credit');
    fs.mkdirSync(folder);
    writeCreditCsv(path.join(folder, 'credit.csv'), { rows: 300, seed: 5 });
    const added = await cli(env, 'data', 'add', folder, '--dataset', 'credit-cost');
    expect(added.code, added.err).toBe(0);
    const train = await cli(
      env,
      '--json',
      'train',
      '-d',
      'credit-cost@1',
      '--target',
      'defaulted',
      '-m',
      'gbdt',
      '-p',
      'n_estimators=8',
    );
    expect(train.code, train.err).toBe(0);
    const { runId } = JSON.parse(train.out.trim().split('\n').at(-1)!) as { runId: string };
    const usage = await cli(env, '--json', 'cost', 'usage', runId);
    expect(usage.code, usage.err).toBe(0);
    const records = (JSON.parse(usage.out) as UsageRecord[]).map((r) => usageRecordSchema.parse(r));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ kind: 'run', runId });
    expect(records[0]!.cpuSeconds!).toBeGreaterThan(0);
    expect(records[0]!.wallSeconds).toBeGreaterThan(0);
  });

  it('--limit shows the top groups and one "(N more)" line; totals still count every group', async () => {
    // By now two runs carry usage: the `run --` one and the `train` one.
    const all = costReportSchema.parse(
      JSON.parse((await cli(env, '--json', 'cost', 'report', '--by', 'run')).out),
    );
    expect(all.groups.length).toBeGreaterThanOrEqual(2);
    expect(all.omitted).toBeUndefined();
    const top = costReportSchema.parse(
      JSON.parse((await cli(env, '--json', 'cost', 'report', '--by', 'run', '--limit', '1')).out),
    );
    expect(top.groups).toEqual(all.groups.slice(0, 1));
    expect(top.omitted?.groups).toBe(all.groups.length - 1);
    const cents = (n: number) => Math.round(n * 100);
    expect(cents(top.groups[0]!.amount) + cents(top.omitted!.amount)).toBe(cents(all.total));
    expect(top.total).toBe(all.total);
    const text = await cli(env, 'cost', 'report', '--by', 'run', '--limit', '1');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain(`(${all.groups.length - 1} more)`);
    expect(text.out).toContain(all.groups[0]!.key);
    expect(text.out).not.toContain(all.groups[1]!.key);
    const bad = await cli(env, 'cost', 'report', '--limit', '0');
    expect(bad.code).toBe(2);
  });

  it('refuses an unknown --by with exit 2', async () => {
    const r = await cli(env, 'cost', 'report', '--by', 'colour');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--by/);
  });
});

describeEachBackend('cost over HTTP: /api/v1/cost', (getStore) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(getStore());
  });
  afterAll(async () => {
    await t.services.jobs.close();
    await t.close();
  });

  it('sets prices, records usage and reports it; bad input is a 400 naming the field', async () => {
    const yaml = fs.readFileSync(EXAMPLE, 'utf8');
    const put = await t.app.inject({ method: 'PUT', url: '/api/v1/cost/prices', payload: { yaml } });
    expect(put.statusCode, put.body).toBe(200);
    const overlapping = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/cost/prices',
      payload: {
        document: {
          prices: [
            { resource: 'cpu_hour', price: 1, effective_from: '2026-01-01' },
            { resource: 'cpu_hour', price: 2, effective_from: '2026-02-01' },
          ],
        },
      },
    });
    expect(overlapping.statusCode).toBe(400);
    expect(overlapping.json()).toMatchObject({
      error: {
        code: 'VALIDATION_FAILED',
        details: { field: 'prices.1.effective_from', reason: 'overlapping_dates' },
      },
    });

    const at = Date.UTC(2026, 8, 1);
    for (let i = 0; i < MAX_COST_SERIES + 5; i++) {
      const exp = await t.services.experiments.create({ actor: 'test', name: `http-cost-${i}` });
      const run = await t.services.runs.create({ actor: 'test', experimentId: exp.id });
      const post = await t.app.inject({
        method: 'POST',
        url: '/api/v1/cost/usage',
        payload: {
          kind: 'run',
          runId: run.id,
          startedAt: at,
          endedAt: at + 3_600_000,
          cpuSeconds: 3600 * (i + 1),
        },
      });
      expect(post.statusCode, post.body).toBe(201);
    }
    const badUsage = await t.app.inject({
      method: 'POST',
      url: '/api/v1/cost/usage',
      payload: { kind: 'run', startedAt: at, endedAt: at, cpuSeconds: -1 },
    });
    expect(badUsage.statusCode).toBe(400);
    expect(JSON.stringify(badUsage.json())).toContain('cpuSeconds');

    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/cost/report?by=experiment&from=2026-09-01&to=2026-09-02`,
    });
    expect(res.statusCode, res.body).toBe(200);
    const report = costReportSchema.parse(res.json());
    expect(report.groups).toHaveLength(MAX_COST_SERIES + 5);
    // 1 + 2 + ... + 25 core-hours at 0.0316
    expect(report.total).toBe(Math.round(((25 * 26) / 2) * 0.0316 * 100) / 100);

    const metrics = await t.app.inject({ method: 'GET', url: '/api/v1/cost/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('# TYPE sextant_cost_experiment gauge');
  });
});
