import { beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/backends.js';
import {
  seedDeployment,
  seedExperiment,
  seedModelVersion,
  seedRuns,
  servedPredictionsOf,
} from '../../test/support/cost-seed.js';
import { createAuditLog } from '../audit/index.js';
import { fakeClock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import type { Store } from '../store/index.js';
import { type CostDomain, createCostDomain, type RecordUsageInput } from './index.js';

const KEY = 'cost-test-audit-key-0123456789';
const HOUR = 3_600_000;
const GIB = 2 ** 30;

const PRICES = `
currency: EUR
prices:
  - { resource: cpu_hour, price: 0.10 }
  - { resource: memory_gib_hour, price: 0.01 }
  - { resource: gpu_hour, gpu: NVIDIA A100-SXM4-80GB, price: 3.0 }
  - { resource: instance_hour, instance_type: m5.large, price: 0.50 }
`;

function setup(store: Store): CostDomain & { clock: ReturnType<typeof fakeClock> } {
  const clock = fakeClock(Date.UTC(2026, 5, 1));
  const audit = createAuditLog({ db: store.db, dialect: store.dialect, clock, key: KEY });
  return {
    ...createCostDomain({ db: store.db, audit, clock, served: servedPredictionsOf(store.db) }),
    clock,
  };
}

async function auditCount(store: Store, action: string): Promise<number> {
  const r = await store.db
    .selectFrom('audit_entries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('action', '=', action)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Every group's cents add up to the total's cents, exactly. */
function expectCentsAddUp(r: {
  total: number;
  allocated: number;
  idle: number;
  groups: { amount: number; allocated: number; idle: number }[];
}) {
  const cents = (n: number) => Math.round(n * 100);
  expect(r.groups.reduce((s, g) => s + cents(g.amount), 0)).toBe(cents(r.total));
  expect(r.groups.reduce((s, g) => s + cents(g.allocated), 0)).toBe(cents(r.allocated));
  expect(cents(r.allocated) + cents(r.idle)).toBe(cents(r.total));
  for (const g of r.groups) expect(cents(g.allocated) + cents(g.idle)).toBe(cents(g.amount));
}

describeEachBackend('cost: price book, usage, attribution, ledger', (get) => {
  it('each set of the price book is a new, audited version; a bad one changes nothing', async () => {
    const store = get();
    const cost = setup(store);
    const before = await auditCount(store, 'cost.prices.set');
    const v1 = await cost.prices.set({ actor: 'alice', yaml: PRICES });
    const v2 = await cost.prices.set({ actor: 'bob', yaml: PRICES.replace('0.10', '0.20') });
    expect(v2.version).toBe(v1.version + 1);
    expect((await cost.prices.get()).version).toBe(v2.version);
    expect((await cost.prices.get(v1.version)).prices.find((p) => p.resource === 'cpu_hour')?.price).toBe(
      0.1,
    );
    await expect(
      cost.prices.set({ actor: 'bob', yaml: 'prices:\n  - { resource: cpu_hour, price: -1 }\n' }),
    ).rejects.toBeInstanceOf(ValidationError);
    expect((await cost.prices.get()).version).toBe(v2.version);
    expect(await auditCount(store, 'cost.prices.set')).toBe(before + 2);
    await cost.prices.set({ actor: 'alice', yaml: PRICES });
  });

  it('a usage interval that ends before it starts (clock skew) is clamped to zero and flagged', async () => {
    const store = get();
    const cost = setup(store);
    const before = await auditCount(store, 'cost.usage.record');
    const [r] = await cost.usage.record({
      actor: 'worker',
      kind: 'job',
      jobId: 'job_skew',
      startedAt: Date.UTC(2026, 1, 1, 12),
      endedAt: Date.UTC(2026, 1, 1, 12) - 1500,
      cpuSeconds: 2,
    });
    expect(r!.wallSeconds).toBe(0);
    expect(r!.endedAt).toBe(r!.startedAt);
    expect(r!.notes.join()).toMatch(/clock skew: ended 1500 ms before it started/);
    expect(await auditCount(store, 'cost.usage.record')).toBe(before + 1);
  });

  describe_attribution(get);
});

function describe_attribution(get: () => Store) {
  // Each scenario has its own month, so scenarios sharing the database do not see each other.
  const MAR = Date.UTC(2026, 2, 1);
  const APR = Date.UTC(2026, 3, 1);
  const FEB = Date.UTC(2026, 1, 1);
  let cost: ReturnType<typeof setup>;
  let sweepId = '';
  let depId = '';

  beforeAll(async () => {
    const store = get();
    cost = setup(store);
    await cost.prices.set({ actor: 'alice', yaml: PRICES });
    const a = await seedExperiment(store.db, `exp-a-${Date.now()}`);
    const b = await seedExperiment(store.db, `exp-b-${Date.now()}`);
    const [r1, r2, parent] = await seedRuns(store.db, [
      { experimentId: a.id, tags: { team: 'search' } },
      { experimentId: a.id, tags: { team: 'ads' } },
      { experimentId: b.id, tags: { team: 'search' } },
    ]);
    sweepId = parent!;
    const trials = await seedRuns(
      store.db,
      [1, 2, 3].map(() => ({ experimentId: b.id, parentRunId: sweepId })),
    );
    const mv = await seedModelVersion(store.db, `churn-${Date.now()}`, sweepId);
    depId = await seedDeployment(store.db, {
      name: `churn-prod-${Date.now()}`,
      model: 'churn',
      modelId: mv.modelId,
      versionId: mv.id,
      predictions: 2000,
      servedAt: MAR + 10 * HOUR,
    });
    const at = (h: number) => MAR + h * HOUR;
    const usage: RecordUsageInput[] = [
      // 1 core-hour (0.10) + 1 GiB-hour (0.01) = 0.11
      { kind: 'run', runId: r1!, startedAt: at(1), endedAt: at(2), cpuSeconds: 3600, peakMemoryBytes: GIB },
      // asked for 2 cores, used half of one: allocated 2 core-hours = 0.20
      { kind: 'run', runId: r2!, startedAt: at(1), endedAt: at(2), cpuSeconds: 1800, requestedCpus: 2 },
      // the sweep: three trials, each one A100 for 40 minutes = 2.00, 6.00 in all
      ...trials.map((t) => ({
        kind: 'job' as const,
        runId: t,
        jobId: `job_${t}`,
        startedAt: at(3),
        endedAt: at(3) + (2 * HOUR) / 3,
        cpuSeconds: 0,
        gpuDevices: [
          {
            index: 0,
            uuid: 'GPU-x',
            name: 'NVIDIA A100-SXM4-80GB',
            seconds: 2400,
            utilizationAvg: 90,
            memoryPeakMib: 1000,
          },
        ],
      })),
      // a deployment: an m5.large for an hour (0.50 capacity), 0.01 of CPU allocated, 0.49 idle
      {
        kind: 'deployment',
        deploymentId: depId,
        modelVersionId: mv.id,
        startedAt: at(10),
        endedAt: at(11),
        cpuSeconds: 360,
        instanceType: 'm5.large',
        instanceSeconds: 3600,
      },
    ];
    // Odd amounts, so cents do not come out even: the sums must still match to the cent.
    for (let i = 0; i < 37; i++)
      usage.push({
        kind: 'run',
        runId: r1!,
        startedAt: at(20 + i),
        endedAt: at(20 + i) + 1000 * (7 + i * 13),
        cpuSeconds: 11.3 * (i + 1),
      });
    for (const u of usage) await cost.usage.record({ actor: 'worker', ...u });
    // Last month: only experiment A, 0.11.
    await cost.usage.record({
      actor: 'worker',
      kind: 'run',
      runId: r1!,
      startedAt: FEB + HOUR,
      endedAt: FEB + 2 * HOUR,
      cpuSeconds: 3600,
      peakMemoryBytes: GIB,
    });
  });

  it('prices allocation as max(requested, used) and shows idle capacity apart', async () => {
    const r = await cost.reports.report({ by: 'experiment', from: MAR, to: APR });
    expect(r.currency).toBe('EUR');
    const odd = Array.from({ length: 37 }, (_, i) => 11.3 * (i + 1)).reduce((s, c) => s + c, 0);
    const [a, b, dep] = [
      r.groups.find((g) => g.key.startsWith('exp-a')),
      r.groups.find((g) => g.key.startsWith('exp-b')),
      r.groups.find((g) => g.key === '(deployments)'),
    ];
    expect(a!.amount).toBeCloseTo(0.31 + (odd / 3600) * 0.1, 2);
    expect(b!.amount).toBe(6);
    expect(dep!.amount).toBe(0.5);
    expect(dep!.allocated).toBe(0.01);
    expect(dep!.idle).toBe(0.49);
    expect(r.idle).toBe(0.49);
    expect(r.unpriced).toEqual([]);
    expectCentsAddUp(r);
  });

  it('sums to the total to the cent whichever way it is grouped', async () => {
    const totals = new Set<number>();
    for (const by of ['experiment', 'run', 'model', 'deployment', 'tag:team'] as const) {
      const r = await cost.reports.report({ by, from: MAR, to: APR });
      expectCentsAddUp(r);
      totals.add(r.total);
    }
    expect(totals.size).toBe(1);
  });

  it('rolls a sweep up to its parent run, and charges the model version the sweep produced', async () => {
    const byRun = await cost.reports.report({ by: 'run', from: MAR, to: APR });
    expect(byRun.groups.find((g) => g.key === sweepId)?.amount).toBe(6);
    const byModel = await cost.reports.report({ by: 'model', from: MAR, to: APR });
    const churn = byModel.groups.find((g) => g.key.startsWith('churn-'));
    // the sweep's 6.00 and the deployment serving that version, 0.50
    expect(churn?.amount).toBe(6.5);
  });

  it('gives a deployment its cost per 1,000 predictions from the prediction log', async () => {
    const r = await cost.reports.report({ by: 'deployment', from: MAR, to: APR });
    const d = r.groups.find((g) => g.key.startsWith('churn-prod'));
    expect(d?.predictions).toBe(2000);
    expect(d?.per1kPredictions).toBeCloseTo(0.25, 10);
  });

  it('groups by a run tag, with untagged work shown apart', async () => {
    const r = await cost.reports.report({ by: 'tag:team', from: MAR, to: APR });
    expect(r.groups.find((g) => g.key === 'ads')?.amount).toBe(0.2);
    // the sweep's trials carry no tag themselves: they take their parent's
    expect(r.groups.find((g) => g.key === 'search')!.amount).toBeGreaterThan(6);
    expect(r.groups.find((g) => g.key === '(untagged)')?.amount).toBe(0.5);
  });

  it('counts only the part of a record inside the range', async () => {
    const r = await cost.reports.report({
      by: 'experiment',
      from: MAR + HOUR + HOUR / 2,
      to: MAR + 2 * HOUR,
    });
    // half of run 1 (0.055) and half of run 2 (0.10)
    expect(r.total).toBe(0.16);
    expectCentsAddUp(r);
  });

  it('ranks what made this period cost more than the last', async () => {
    const r = await cost.reports.report({
      by: 'experiment',
      from: MAR,
      to: APR,
      compare: `${new Date(FEB).toISOString()}..${new Date(MAR).toISOString()}`,
    });
    expect(r.compare?.total).toBe(0.11);
    const top = r.compare!.contributors[0]!;
    expect(top.key.startsWith('exp-b')).toBe(true);
    expect(top.delta).toBe(6);
    expect(r.compare!.contributors.reduce((s, c) => s + Math.round(c.delta * 100), 0)).toBe(
      Math.round(r.compare!.delta * 100),
    );
  });

  it('the ledger answers what budgets ask, matching the report', async () => {
    const all = await cost.ledger.spent({ scope: { kind: 'all' }, from: MAR, to: APR });
    const report = await cost.reports.report({ by: 'experiment', from: MAR, to: APR });
    expect(all).toMatchObject({ amount: report.total, currency: 'EUR' });
    expect(
      (await cost.ledger.spent({ scope: { kind: 'team', value: 'ads' }, from: MAR, to: APR })).amount,
    ).toBe(0.2);
    expect(
      (await cost.ledger.spent({ scope: { kind: 'tag', value: 'team=ads' }, from: MAR, to: APR })).amount,
    ).toBe(0.2);
    expect(
      (await cost.ledger.spent({ scope: { kind: 'deployment', value: depId }, from: MAR, to: APR })).amount,
    ).toBe(0.5);
    const exp = report.groups.find((g) => g.key.startsWith('exp-b'))!.key;
    expect(
      await cost.ledger.spent({ scope: { kind: 'experiment', value: exp }, from: MAR, to: APR }),
    ).toMatchObject({ amount: 6, usageRows: 3 });
    expect(
      (await cost.ledger.spent({ scope: { kind: 'experiment', value: 'nope' }, from: MAR, to: APR })).amount,
    ).toBe(0);
  });

  it('refuses a range that ends before it starts, and an unknown grouping', async () => {
    await expect(cost.reports.report({ from: APR, to: MAR })).rejects.toBeInstanceOf(ValidationError);
    await expect(cost.reports.report({ by: 'colour' as never, from: MAR, to: APR })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
}
