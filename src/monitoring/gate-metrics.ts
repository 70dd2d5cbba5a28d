import type { Db } from '../store/index.js';
import { latestRunWith, selectPoints } from './metric-point.repo.js';

/*
 * The registry's drift and fairness gates, answered from monitoring: the newest run that measured the
 * metric for that model version (for a challenger, the run over its shadow or canary traffic). A bare
 * name reads `drift.<name>` or `skew.<name>` (drift gates) and `fairness.<name>` (fairness gates); a
 * dotted name is read as is. The value is the worst over the run's features and slices: the largest
 * (gates are `<= max`), by absolute value for fairness differences. No measurement: undefined, and
 * the gate stays no_data.
 */

// The registry's documented names for Clarify's metrics, as the fairness library names its points.
const FAIRNESS_ALIASES: Record<string, string> = {
  demographic_parity_difference: 'dppl',
  disparate_impact: 'di',
  recall_difference: 'rd',
  accuracy_difference: 'ad',
};

export interface GateMetricQuery {
  kind: 'fairness' | 'drift';
  model: string;
  version: number;
  metric: string;
}

/** Builds the registry's gateMetrics port over the points table (needs only the database). */
export function createGateMetrics(deps: { db: Db }) {
  return async (q: GateMetricQuery): Promise<number | undefined> => {
    const names = q.metric.includes('.')
      ? [q.metric]
      : q.kind === 'drift'
        ? [`drift.${q.metric}`, `skew.${q.metric}`]
        : [`fairness.${FAIRNESS_ALIASES[q.metric] ?? q.metric}`];
    const runId = await latestRunWith({
      tx: deps.db,
      model: q.model,
      modelVersion: q.version,
      metrics: names,
    });
    if (!runId) return undefined;
    const rows = await selectPoints({
      tx: deps.db,
      filter: { runId, metrics: names, model: q.model, modelVersion: q.version },
      limit: 100_000,
    });
    const values = rows
      .map((r) => (r.value === null ? undefined : Number(r.value)))
      .filter((v): v is number => v !== undefined && Number.isFinite(v))
      .map((v) => (q.kind === 'fairness' ? Math.abs(v) : v));
    return values.length === 0 ? undefined : Math.max(...values);
  };
}
