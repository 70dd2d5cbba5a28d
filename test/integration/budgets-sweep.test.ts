import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServices, jobTrialRunner, type Services, SWEEP_TRIAL_JOB } from '../../src/app/index.js';
import { localPrincipal } from '../../src/auth/index.js';
import { createBlobStore } from '../../src/blobs/index.js';
import { createLocalApi } from '../../src/cli/local-api.js';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import { isAppError } from '../../src/core/errors.js';
import type { CostLedger } from '../../src/cost/budgets/index.js';
import { runSweep, type SweepSpec, writeCreditCsv } from '../../src/ml/index.js';
import { describeEachBackend } from '../support/backends.js';

/*
 * A real sweep (a small gradient-boosting grid on 300 rows) against a budget on its experiment, through
 * the wired services: once the budget is spent the sweep's next trials are refused with
 * BUDGET_EXCEEDED and no trial job is written; raised, the same sweep runs.
 */

describeEachBackend('a budget stops a sweep', (getStore) => {
  let home: string;
  let s: Services;
  const spent = new Map<string, number>();
  const ledger: CostLedger = {
    spent: async ({ scope }) => {
      const amount = spent.get(`${scope.kind}:${scope.value}`);
      return { amount: amount ?? 0, currency: 'USD', usageRows: amount === undefined ? 0 : 1 };
    },
  };
  const uniq = (p: string) => `${p}-${Math.random().toString(36).slice(2, 8)}`;
  const spec: SweepSpec = {
    base: {
      datasetRef: 'credit@1',
      target: 'defaulted',
      kind: 'gbdt',
      seed: 3,
      params: { n_estimators: '10', max_depth: '2' },
    },
    grid: { learning_rate: ['0.3', '0.1'] },
  };

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-budget-sweep-'));
    s = createServices({
      store: getStore(),
      blobs: createBlobStore(`file:${path.join(home, 'blobs')}`),
      clock: systemClock,
      config: loadConfig({ SEXTANT_HOME: home }),
      auditKey: 'test-audit-key-0123456789',
      costLedger: ledger,
    });
    const file = path.join(home, 'credit.csv');
    writeCreditCsv(file, { rows: 300, seed: 1 });
    await createLocalApi(s).data.add({
      dataset: 'credit',
      files: [{ path: 'credit.csv', localPath: file, size: fs.statSync(file).size }],
    });
  }, 60_000);
  afterAll(async () => {
    await s?.jobs.close();
    await s?.trialThreads.close();
    await s?.events.close();
    await s?.blobs.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('refuses the next trial once the budget is spent, and runs it once raised', async () => {
    const api = createLocalApi(s);
    const experiment = uniq('runaway');
    const exp = await s.experiments.create({ actor: 'ada', name: experiment });
    const { budget } = await s.budgets.create({
      actor: 'ada',
      name: uniq('cap'),
      scope: { kind: 'experiment', value: exp.id },
      period: 'month',
      amount: 5,
    });
    spent.set(`experiment:${exp.name}`, 5.5);
    expect((await s.budgets.checkAll()).checks.find((c) => c.budgetId === budget.id)?.status).toBe(
      'exhausted',
    );
    const trialsBefore = (await s.jobs.list({ name: SWEEP_TRIAL_JOB, limit: 1000 })).jobs.length;

    const err = await runSweep(api, spec, {
      experiment,
      trials: jobTrialRunner(s.jobs, { actor: localPrincipal.name }),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAppError(err) && err.code).toBe('BUDGET_EXCEEDED');
    expect((err as Error).message).toContain(budget.name);
    expect((await s.jobs.list({ name: SWEEP_TRIAL_JOB, limit: 1000 })).jobs.length).toBe(trialsBefore);

    await s.budgets.update({ actor: 'ada', ref: budget.id, amount: 50 });
    const swept = await runSweep(api, spec, {
      experiment,
      trials: jobTrialRunner(s.jobs, { actor: localPrincipal.name }),
    });
    expect(swept.trials.map((t) => t.status)).toEqual(['FINISHED', 'FINISHED']);
  }, 180_000);
});
