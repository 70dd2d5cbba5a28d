import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type GpuBillOutcome, gpuBillStory } from '../../examples/story-gpu-bill.js';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { loadConfig } from '../../src/core/config.js';
import { costReportSchema } from '../../src/cost/index.js';
import { buildApp } from '../../src/server/app.js';
import { cli } from '../support/cli.js';

/*
 * Story: the doubled GPU bill, end to end on SQLite. The bill of the last 30 days is about twice the
 * one before; the causes name the sweep without early stopping first, then the idle deployment and
 * the experiment that grew; the budget refuses the sweep's next launch at its first trial; the reaper
 * unloads the idle deployment; the savings are what the causes' own figures imply. Run twice on one
 * workspace, it tells the same story. The causes are also asked for through the CLI, in-process and
 * against a real server.
 */

const cents = (n: number) => Math.round(n * 100);

describe('story: the doubled GPU bill', () => {
  let home: string;
  let ws: Workspace;
  let first: GpuBillOutcome;
  let printed = '';

  async function tell(): Promise<GpuBillOutcome> {
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      printed += `${a.join(' ')}\n`;
    });
    try {
      return await gpuBillStory(ws, createLocalApi(ws), { workDir: path.join(home, 'files') });
    } finally {
      log.mockRestore();
    }
  }

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-gpu-bill-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home }));
    first = await tell();
  });
  afterAll(async () => {
    await ws.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('the last period costs about twice the one before, and the causes add up to the rise', () => {
    const [, before, last] = first.periods;
    expect(first.ratio).toBeGreaterThan(1.9);
    expect(first.ratio).toBeLessThan(2.3);
    const rise = cents(last!.total) - cents(before!.total);
    expect(first.causes.reduce((s, c) => s + cents(c.delta), 0)).toBe(rise);
  });

  it('ranks the sweep without early stopping first, then the idle deployment and the larger experiment', () => {
    const [sweep, deployment, experiment] = first.causes;
    expect(sweep).toMatchObject({
      entity: 'sweep',
      key: first.sweep.runId,
      kind: 'sweep_without_early_stopping',
      reason: 'sweep without early stopping (64 trials, none stopped)',
      previous: 0,
    });
    expect(sweep!.evidence).toMatchObject({ trials: 64, stopped: 0, earlyStop: 'none' });
    expect(deployment).toMatchObject({
      entity: 'deployment',
      key: 'gpu-bill-assistant',
      kind: 'idle_deployment',
      reason: 'idle deployment (90% of its 720 hours without requests)',
    });
    expect(experiment).toMatchObject({
      entity: 'experiment',
      key: 'gpu-bill-research',
      kind: 'large_experiment',
      reason: 'large experiment (30 runs vs 12)',
    });
    // The earlier sweep, with early stopping, ran in the period before: it is the one fall.
    expect(first.causes.at(-1)).toMatchObject({ entity: 'sweep', kind: 'sweep', delta: expect.any(Number) });
    expect(first.causes.at(-1)!.delta).toBeLessThan(0);
    // The busy scoring deployment cost the same in both periods: no cause.
    expect(first.causes.map((c) => c.key)).not.toContain('gpu-bill-scoring');
    expect(printed).toMatch(/GPU figures of this story are simulated/);
  });

  it("the budget refused the sweep's next launch at its first trial: none of its trials ran", async () => {
    expect(first.sweep.refusedWith).toBe('BUDGET_EXCEEDED');
    expect(first.sweep.trialRunsOfRelaunch).toBe(0);
    expect(first.sweep.trialsNotRun).toBe(64);
    const relaunch = await ws.runs.get(first.sweep.relaunchRunId!);
    expect(relaunch.status).toBe('FAILED');
    const budget = await ws.budgets.get(first.sweep.budget);
    expect(budget.current?.exhausted).toBe(true);
    expect(budget.current!.spent).toBeGreaterThan(budget.amount);
  });

  it('the reaper unloaded the idle deployment, recorded and audited', async () => {
    expect(first.deployment).toMatchObject({
      unloaded: true,
      reaperRecorded: true,
      hours: 720,
      idleHours: 648,
    });
    const audited = await ws.audit.list({ entityType: 'deployment', entityId: 'gpu-bill-assistant' });
    expect(audited.map((e) => e.action)).toContain('reaper.deployment_unload');
  });

  it('the savings are what the figures imply: the launch at the cost per trial, the idle hours at the cost per hour', () => {
    const sweep = first.causes[0]!;
    const deployment = first.causes.find((c) => c.key === 'gpu-bill-assistant')!;
    const round2 = (n: number) => Math.round(n * 100) / 100;
    expect(first.savings.sweep).toBe(round2(64 * (sweep.current / 64)));
    expect(first.savings.deployment).toBe(round2(648 * (deployment.current / 720)));
    expect(first.savings.total).toBe(round2(first.savings.sweep + first.savings.deployment));
    expect(first.savings.deployment).toBeCloseTo(deployment.current * 0.9, 1);
  });

  it('told again on the same workspace, it reuses the quarter and ranks the same causes', async () => {
    const again = await tell();
    expect(again.reused).toBe(true);
    expect(again.periods).toEqual(first.periods);
    expect(again.causes.slice(0, 3).map((c) => [c.key, c.kind, c.delta])).toEqual(
      first.causes.slice(0, 3).map((c) => [c.key, c.kind, c.delta]),
    );
    expect(again.sweep.refusedWith).toBe('BUDGET_EXCEEDED');
    expect(again.sweep.relaunchRunId).not.toBe(first.sweep.relaunchRunId);
    expect(again.deployment.unloaded).toBe(true);
  });

  describe('sextant cost report --causes, in-process and against a server', () => {
    let app: FastifyInstance;
    let envs: Record<'local' | 'remote', Record<string, string>>;
    beforeAll(async () => {
      app = await buildApp(ws);
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      envs = {
        local: { SEXTANT_HOME: home },
        remote: { SEXTANT_HOME: path.join(home, 'client'), SEXTANT_URL: url },
      };
    });
    afterAll(async () => {
      await app.close();
    });

    for (const transport of ['local', 'remote'] as const)
      it(`[${transport}] ranks the causes, in JSON and as text; a bad --compare exits 2`, async () => {
        const env = envs[transport];
        const { from, to } = first.periods[2]!;
        const range = ['--from', from, '--to', to];
        const json = await cli(env, '--json', 'cost', 'report', ...range, '--causes');
        expect(json.code, json.err).toBe(0);
        const report = costReportSchema.parse(JSON.parse(json.out));
        // --causes alone compares with the period just before.
        expect(report.compare?.from).toBe(first.periods[1]!.from);
        expect(report.causes?.slice(0, 3).map((c) => c.kind)).toEqual([
          'sweep_without_early_stopping',
          'idle_deployment',
          'large_experiment',
        ]);
        expect(report.causes).toEqual(first.causes);

        const html = path.join(home, `causes-${transport}.html`);
        const text = await cli(
          env,
          'cost',
          'report',
          ...range,
          '--compare',
          'auto',
          '--causes',
          '--limit',
          '2',
          '--html',
          html,
        );
        expect(text.code, text.err).toBe(0);
        expect(text.out).toContain('causes of the change, ranked:');
        expect(text.out).toMatch(/1 +0\.00 +\d+\.\d\d +\+\d+\.\d\d +5\d\.\d% +sweep tune-nightly-3 \(run_/);
        expect(text.out).toContain('sweep without early stopping (64 trials, none stopped)');
        expect(text.out).toContain('idle deployment (90% of its 720 hours without requests)');
        expect(text.out).toContain(`(${first.causes.length - 2} more)`);
        const page = fs.readFileSync(html, 'utf8');
        expect(page).toContain('Causes of the change, ranked');
        expect(page).toContain('idle deployment (90% of its 720 hours without requests)');
        expect(page).not.toMatch(/<script|<link|src=|href=/);

        const bad = await cli(env, 'cost', 'report', '--compare', 'lastweek', '--causes');
        expect(bad.code).toBe(2);
        expect(bad.err.trim().split('\n')).toHaveLength(1);
        expect(bad.err).toMatch(/compare/);
      });

    it('the API refuses a causes flag that is not true or false, naming it', async () => {
      const res = await app.inject({ url: '/api/v1/cost/report?causes=maybe' });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.field).toMatch(/causes/);
    });
  });
});
