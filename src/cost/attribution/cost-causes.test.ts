import { describe, expect, it } from 'vitest';
import { createPriceLookup } from '../prices/price-book.js';
import type { AttributedUsageRow, DeploymentTraffic, ParentRunFacts } from './attribution.repo.js';
import { type CauseInputs, rankCauses } from './cost-causes.js';

/*
 * The causes of a change, on hand-made attribution rows: each record goes to exactly one entity (a
 * sweep with its trials, a deployment, the other runs of an experiment), the entities are ranked by
 * their change and classified from their evidence, and their changes add up to the total change.
 */

const H = 3_600_000;
const PREV = { from: 0, to: 30 * 24 * H };
const CUR = { from: 30 * 24 * H, to: 60 * 24 * H };
const A100 = 'NVIDIA A100-SXM4-80GB';
const prices = createPriceLookup({
  currency: 'USD',
  prices: [
    { resource: 'gpu_hour', key: A100, price: 2, effectiveFrom: null, effectiveTo: null },
    { resource: 'gpu_hour', key: '*', price: 1, effectiveFrom: null, effectiveTo: null },
    { resource: 'cpu_hour', key: null, price: 0.05, effectiveFrom: null, effectiveTo: null },
  ],
} as unknown as Parameters<typeof createPriceLookup>[0]);

let seq = 0;
/** One usage record: `gpuHours` device-hours on `gpu`, starting `at` ms, lasting an hour. */
function row(o: Partial<AttributedUsageRow> & { at: number; gpuHours?: number }): AttributedUsageRow {
  const { at, gpuHours = 0, ...rest } = o;
  return {
    id: `use_${++seq}`,
    kind: 'run',
    run_id: null,
    deployment_id: null,
    model_version_id: null,
    started_at: at,
    ended_at: at + H,
    wall_seconds: 3600,
    cpu_seconds: null,
    peak_memory_bytes: null,
    requested_cpus: null,
    requested_memory_bytes: null,
    gpu_model: gpuHours ? A100 : null,
    gpu_seconds: gpuHours ? gpuHours * 3600 : null,
    instance_type: null,
    instance_seconds: null,
    experiment: null,
    parent_run_id: null,
    tag_value: null,
    parent_tag_value: null,
    storage_bytes: null,
    dataset_version_id: null,
    storage_of: null,
    ...rest,
  };
}

const sweep = (o: Partial<ParentRunFacts>): ParentRunFacts => ({
  name: 'tune',
  experiment: 'tuning',
  sweep: true,
  earlyStop: 'none',
  children: 0,
  stopped: 0,
  ...o,
});

function inputs(
  current: AttributedUsageRow[],
  previous: AttributedUsageRow[],
  extra: Partial<CauseInputs> = {},
) {
  return {
    current: { rows: current, ...CUR },
    previous: { rows: previous, ...PREV },
    prices,
    parents: new Map<string, ParentRunFacts>(),
    deploymentNames: new Map<string, string>(),
    traffic: {
      current: new Map<string, DeploymentTraffic>(),
      previous: new Map<string, DeploymentTraffic>(),
    },
    datasetLabels: new Map<string, string>(),
    ...extra,
  } satisfies CauseInputs;
}

describe('the causes of a change in cost', () => {
  // Before: a sweep with early stopping (10 GPU-h), 2 research runs (8 GPU-h), the busy deployment.
  // Now: a sweep without early stopping (40 GPU-h), 5 research runs (20 GPU-h), an idle deployment
  // (30 hours, 27 of them without a request), the busy deployment unchanged.
  const previous = [
    ...Array.from({ length: 5 }, (_, i) =>
      row({
        at: PREV.from + i * H,
        run_id: `trial_old_${i}`,
        parent_run_id: 'run_old_sweep',
        experiment: 'tuning',
        gpuHours: 2,
      }),
    ),
    row({ at: PREV.from, run_id: 'run_r1', experiment: 'research', gpuHours: 4 }),
    row({ at: PREV.from + H, run_id: 'run_r2', experiment: 'research', gpuHours: 4 }),
    row({ at: PREV.from, kind: 'deployment', deployment_id: 'dep_busy', gpuHours: 10 }),
  ];
  const current = [
    ...Array.from({ length: 8 }, (_, i) =>
      row({
        at: CUR.from + i * H,
        run_id: `trial_${i}`,
        parent_run_id: 'run_sweep',
        experiment: 'tuning',
        gpuHours: 5,
      }),
    ),
    ...Array.from({ length: 5 }, (_, i) =>
      row({ at: CUR.from + i * H, run_id: `run_n${i}`, experiment: 'research', gpuHours: 4 }),
    ),
    ...Array.from({ length: 30 }, (_, i) =>
      row({ at: CUR.from + i * H, kind: 'deployment', deployment_id: 'dep_idle', gpuHours: 0.5 }),
    ),
    row({ at: CUR.from, kind: 'deployment', deployment_id: 'dep_busy', gpuHours: 10 }),
  ];
  const extra: Partial<CauseInputs> = {
    parents: new Map([
      ['run_sweep', sweep({ name: 'tune-nightly', children: 8, stopped: 0 })],
      [
        'run_old_sweep',
        sweep({ name: 'tune-old', children: 5, stopped: 3, earlyStop: 'median(warmup=10,min_trials=2)' }),
      ],
    ]),
    deploymentNames: new Map([
      ['dep_idle', 'assistant'],
      ['dep_busy', 'scoring'],
    ]),
    traffic: {
      current: new Map([
        ['dep_idle', { hours: 30, idleHours: 27, predictions: 12 }],
        ['dep_busy', { hours: 1, idleHours: 0, predictions: 9000 }],
      ]),
      previous: new Map([['dep_busy', { hours: 1, idleHours: 0, predictions: 8000 }]]),
    },
  };

  it('ranks the sweep without early stopping, the idle deployment and the larger experiment, with reasons', () => {
    const causes = rankCauses(inputs(current, previous, extra));
    expect(causes.map((c) => [c.entity, c.key, c.kind, c.delta])).toEqual(
      [
        // 8 trials x 5 GPU-h x 2 USD
        ['sweep', 'run_sweep', 'sweep_without_early_stopping', 80],
        // 5 x 4 GPU-h now, 2 x 4 before
        ['experiment', 'research', 'large_experiment', 24],
        // 30 x 0.5 GPU-h
        ['deployment', 'assistant', 'idle_deployment', 30],
        ['sweep', 'run_old_sweep', 'sweep', -20],
      ].sort((a, b) => (b[3] as number) - (a[3] as number)),
    );
    const [first, second, third] = causes;
    expect(first?.reason).toBe('sweep without early stopping (8 trials, none stopped)');
    expect(first?.label).toBe('sweep tune-nightly (run_sweep) in experiment tuning');
    expect(second?.reason).toBe('idle deployment (90% of its 30 hours without requests)');
    expect(second?.evidence).toMatchObject({ idleShare: 0.9, hours: 30, predictions: 12 });
    expect(third?.reason).toBe('large experiment (5 runs vs 2)');
    expect(causes.at(-1)?.reason).toBe('sweep with early stopping (5 trials, 3 stopped early)');
    // The busy deployment did not change: it is no cause.
    expect(causes.map((c) => c.key)).not.toContain('scoring');
  });

  it("the causes' changes add up to the total change, and their shares to one", () => {
    const causes = rankCauses(inputs(current, previous, extra));
    const cents = (n: number) => Math.round(n * 100);
    const total = causes.reduce((s, c) => s + cents(c.delta), 0);
    expect(total).toBe(cents(80 + 30 + 24 - 20));
    expect(causes.reduce((s, c) => s + (c.shareOfChange ?? 0), 0)).toBeCloseTo(1, 10);
    expect(causes[0]?.shareOfChange).toBeCloseTo(80 / 114, 10);
  });

  it('a bill that fell ranks the largest fall first', () => {
    // The same two periods, read the other way round.
    const causes = rankCauses({
      ...inputs(current, previous, extra),
      current: { rows: previous, ...PREV },
      previous: { rows: current, ...CUR },
    });
    expect(causes[0]).toMatchObject({ key: 'run_sweep', delta: -80 });
    expect(causes.at(-1)).toMatchObject({ key: 'run_old_sweep', delta: 20 });
  });

  it('a busy deployment is no idle one; equal runs with more GPU-hours are still a larger experiment', () => {
    const busy = rankCauses(
      inputs(
        [
          row({ at: CUR.from, kind: 'deployment', deployment_id: 'dep_busy', gpuHours: 20 }),
          row({ at: CUR.from, run_id: 'run_x', experiment: 'research', gpuHours: 10 }),
        ],
        [
          row({ at: PREV.from, kind: 'deployment', deployment_id: 'dep_busy', gpuHours: 10 }),
          row({ at: PREV.from, run_id: 'run_y', experiment: 'research', gpuHours: 2 }),
        ],
        extra,
      ),
    );
    expect(busy.map((c) => [c.key, c.kind, c.delta])).toEqual([
      ['scoring', 'deployment', 20],
      ['research', 'large_experiment', 16],
    ]);
    expect(busy[0]?.reason).toBe('deployment (9000 requests; 0% of its 1.0 hours without any)');
    expect(busy[1]?.reason).toBe('large experiment (10 GPU-hours vs 2.0; 1 runs vs 1)');
  });
});
