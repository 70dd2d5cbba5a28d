import type { PriceLookup } from '../prices/price-book.js';
import { allocate, centsAddingUp } from './allocation.js';
import type { AttributedUsageRow, DeploymentTraffic, ParentRunFacts } from './attribution.repo.js';
import type { CostCause } from './cost-report.schema.js';

/*
 * The causes of a change in cost between two periods ("what made this month cost twice the last").
 * Unlike the report's contributors, which follow one --by dimension, causes split the bill into
 * entities every usage record goes to exactly once, so their changes add up to the total change:
 *   a run with child runs (a sweep, a pipeline run) with all of them; a deployment; the other runs of
 *   an experiment; a dataset's storage; model versions' files; the rest.
 * Each is ranked by its change (the largest move in the direction of the total change first) and
 * classified from its evidence: a sweep whose trials all ran to the end, a deployment whose metered
 * hours mostly served nothing, an experiment that ran more (or heavier) runs.
 */

/** A deployment whose metered hours without a request reach this share is an idle one. */
export const IDLE_DEPLOYMENT_SHARE = 0.5;

export interface CausePeriod {
  rows: AttributedUsageRow[];
  from: number;
  to: number;
}

export interface CauseInputs {
  current: CausePeriod;
  previous: CausePeriod;
  prices: PriceLookup;
  /** Runs with child runs, by id (runs not listed are top-level runs of their experiment). */
  parents: Map<string, ParentRunFacts>;
  /** Deployment names by id. */
  deploymentNames: Map<string, string>;
  /** Metered serving per deployment id, in each period. */
  traffic: { current: Map<string, DeploymentTraffic>; previous: Map<string, DeploymentTraffic> };
  /** `dataset:<name>` by dataset version id (storage). */
  datasetLabels: Map<string, string>;
}

interface EntityAcc {
  entity: CostCause['entity'];
  key: string;
  micros: number;
  gpuHours: number;
  runs: Set<string>;
  /** Deployments: the id (the key is its name). */
  deploymentId?: string;
}

/** The entity a usage record goes to, as `entity\0key`. */
function entityOf(r: AttributedUsageRow, i: CauseInputs): { entity: CostCause['entity']; key: string } {
  if (r.storage_of === 'dataset')
    return {
      entity: 'dataset',
      key: i.datasetLabels.get(r.dataset_version_id ?? '') ?? `dataset:${r.dataset_version_id}`,
    };
  if (r.storage_of === 'model') return { entity: 'model_versions', key: '(model versions)' };
  if (r.deployment_id)
    return { entity: 'deployment', key: i.deploymentNames.get(r.deployment_id) ?? r.deployment_id };
  const run = r.parent_run_id ?? r.run_id;
  if (run && i.parents.has(run))
    return { entity: i.parents.get(run)!.sweep ? 'sweep' : 'parent_run', key: run };
  if (run && r.experiment) return { entity: 'experiment', key: r.experiment };
  return { entity: 'other', key: run ? '(no experiment)' : '(no run)' };
}

function accumulate(p: CausePeriod, i: CauseInputs): Map<string, EntityAcc> {
  const out = new Map<string, EntityAcc>();
  for (const r of p.rows) {
    const { entity, key } = entityOf(r, i);
    const id = `${entity}\u0000${key}`;
    let acc = out.get(id);
    if (!acc) {
      acc = {
        entity,
        key,
        micros: 0,
        gpuHours: 0,
        runs: new Set(),
        ...(entity === 'deployment' && r.deployment_id ? { deploymentId: r.deployment_id } : {}),
      };
      out.set(id, acc);
    }
    const a = allocate(r, i.prices, p.from, p.to);
    acc.micros += a.allocated + a.idle;
    acc.gpuHours += a.gpuHours;
    // Top-level runs of an experiment (an aggregated row's run_id is its top-level run).
    const run = r.parent_run_id ?? r.run_id;
    if (entity === 'experiment' && run) acc.runs.add(run);
  }
  return out;
}

/** Cents per entity id that add up to the period's total cents. */
function cents(accs: Map<string, EntityAcc>): Map<string, number> {
  const ids = [...accs.keys()];
  const c = centsAddingUp(ids.map((id) => accs.get(id)!.micros));
  return new Map(ids.map((id, k) => [id, c[k]!]));
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const hours = (h: number) => (h >= 10 ? h.toFixed(0) : h.toFixed(1));

/** Ranks the causes of the change from `previous` to `current`, each classified with its evidence. */
export function rankCauses(i: CauseInputs): CostCause[] {
  const now = accumulate(i.current, i);
  const before = accumulate(i.previous, i);
  const nowCents = cents(now);
  const beforeCents = cents(before);
  const total = (m: Map<string, number>) => [...m.values()].reduce((s, c) => s + c, 0);
  const delta = total(nowCents) - total(beforeCents);
  const ids = [...new Set([...now.keys(), ...before.keys()])];
  const causes = ids
    .map((id): CostCause => {
      const cur = nowCents.get(id) ?? 0;
      const prev = beforeCents.get(id) ?? 0;
      const acc = (now.get(id) ?? before.get(id))!;
      return {
        entity: acc.entity,
        key: acc.key,
        ...classify(acc, now.get(id), before.get(id), i),
        current: cur / 100,
        previous: prev / 100,
        delta: (cur - prev) / 100,
        shareOfChange: delta ? (cur - prev) / delta : null,
      };
    })
    .filter((c) => c.delta !== 0);
  // The largest moves in the direction of the total change first; the moves against it last.
  const sign = delta < 0 ? -1 : 1;
  return causes.sort((a, b) => sign * (b.delta - a.delta) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

type Classified = Pick<CostCause, 'label' | 'kind' | 'reason' | 'evidence'>;

function classify(
  acc: EntityAcc,
  now: EntityAcc | undefined,
  before: EntityAcc | undefined,
  i: CauseInputs,
): Classified {
  const gpu = { gpuHours: round(now?.gpuHours ?? 0), gpuHoursBefore: round(before?.gpuHours ?? 0) };
  switch (acc.entity) {
    case 'sweep':
    case 'parent_run': {
      const p = i.parents.get(acc.key)!;
      const where = p.experiment ? ` in experiment ${p.experiment}` : '';
      const evidence = { trials: p.children, stopped: p.stopped, earlyStop: p.earlyStop, ...gpu };
      if (acc.entity === 'parent_run')
        return {
          label: `run ${p.name} (${acc.key})${where}`,
          kind: 'parent_run',
          reason: `parent run (${p.children} child runs)`,
          evidence,
        };
      const label = `sweep ${p.name} (${acc.key})${where}`;
      if (p.stopped === 0)
        return {
          label,
          kind: 'sweep_without_early_stopping',
          reason: `sweep without early stopping (${p.children} trials, none stopped)`,
          evidence,
        };
      return {
        label,
        kind: 'sweep',
        reason: `sweep with early stopping (${p.children} trials, ${p.stopped} stopped early)`,
        evidence,
      };
    }
    case 'deployment': {
      const id = acc.deploymentId ?? acc.key;
      const t = i.traffic.current.get(id);
      const tb = i.traffic.previous.get(id);
      const idleShare = t && t.hours > 0 ? t.idleHours / t.hours : null;
      const evidence = {
        hours: round(t?.hours ?? 0),
        idleHours: round(t?.idleHours ?? 0),
        idleShare: idleShare === null ? null : round(idleShare),
        predictions: t?.predictions ?? 0,
        hoursBefore: round(tb?.hours ?? 0),
        ...gpu,
      };
      const label = `deployment ${acc.key}`;
      if (idleShare === null)
        return { label, kind: 'deployment', reason: 'deployment (no serving metered this period)', evidence };
      if (idleShare >= IDLE_DEPLOYMENT_SHARE)
        return {
          label,
          kind: 'idle_deployment',
          reason: `idle deployment (${pct(idleShare)} of its ${hours(t!.hours)} hours without requests)`,
          evidence,
        };
      return {
        label,
        kind: 'deployment',
        reason: `deployment (${t!.predictions} requests; ${pct(idleShare)} of its ${hours(t!.hours)} hours without any)`,
        evidence,
      };
    }
    case 'experiment': {
      const runs = now?.runs.size ?? 0;
      const runsBefore = before?.runs.size ?? 0;
      const evidence = { runs, runsBefore, ...gpu };
      const label = `experiment ${acc.key} (runs outside sweeps)`;
      if (runs > runsBefore)
        return {
          label,
          kind: 'large_experiment',
          reason: `large experiment (${runs} runs vs ${runsBefore})`,
          evidence,
        };
      if (gpu.gpuHours > gpu.gpuHoursBefore)
        return {
          label,
          kind: 'large_experiment',
          reason: `large experiment (${hours(gpu.gpuHours)} GPU-hours vs ${hours(gpu.gpuHoursBefore)}; ${runs} runs vs ${runsBefore})`,
          evidence,
        };
      return { label, kind: 'experiment', reason: `experiment (${runs} runs vs ${runsBefore})`, evidence };
    }
    case 'dataset':
    case 'model_versions':
      return { label: acc.key, kind: 'storage', reason: 'storage held', evidence: {} };
    case 'other':
      return { label: acc.key, kind: 'other', reason: 'usage with no run or deployment', evidence: gpu };
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
