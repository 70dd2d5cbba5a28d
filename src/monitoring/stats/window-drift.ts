import { isPValueTest } from '../../data/stats/index.js';
import { benjaminiHochberg } from './benjamini-hochberg.js';
import { inferKind, type RawColumn } from './column-sample.js';
import { type DriftPolicyInput, parseDriftPolicy } from './drift-policy.schema.js';
import type { FeatureDrift, WindowDrift } from './drift-result.js';
import { absentFeature, driftOfPrepared } from './feature-drift.js';
import { type PreparedReference, prepareReference, type ReferenceInput } from './reference.js';

/** Columns by feature name: a plain object or a Map. */
export type Columns<T> = Readonly<Record<string, T>> | ReadonlyMap<string, T>;

/**
 * A window's column, or a function that loads it when its turn comes: wide windows (1,000 columns x
 * 300k rows is 2.4 GB as doubles) are then judged one column at a time, each dropped after use.
 */
export type CurrentColumn = RawColumn | (() => RawColumn);

/**
 * Drift of every feature of a window against its reference, under a policy (parsed here: bad
 * policies are ValidationErrors naming the field). Features of the window missing from the
 * reference, and reference features missing from the window, are listed with a named reason.
 */
export function windowDrift(
  reference: Columns<ReferenceInput>,
  current: Columns<CurrentColumn>,
  policyInput: DriftPolicyInput = {},
): WindowDrift {
  const policy = parseDriftPolicy(policyInput);
  const refs = entries(reference);
  const curs = entries(current);
  const results: FeatureDrift[] = [];
  for (const [name, column] of curs) {
    const values = typeof column === 'function' ? column() : column;
    const refInput = refs.get(name);
    if (refInput === undefined) {
      results.push(absentFeature(name, 'reference', inferKind(values) ?? 'categorical', values.length));
      continue;
    }
    const override = policy.features[name];
    const ref: PreparedReference = prepareReference(refInput, name);
    results.push(
      driftOfPrepared(ref, values, {
        feature: name,
        test: override?.test,
        threshold: override?.threshold,
        tests: policy.tests,
        thresholds: policy.thresholds,
        minRows: policy.minRows,
      }),
    );
  }
  for (const [name, refInput] of refs) {
    if (curs.has(name)) continue;
    const ref = prepareReference(refInput, name);
    results.push(
      absentFeature(name, 'current', ref.kind === 'numeric' ? 'numeric' : 'categorical', ref.rows),
    );
  }
  if (policy.bh) applyBh(results, policy.bh.fdr);
  const tested = results.filter((r) => r.status !== 'insufficient_data').length;
  const drifted = results.filter((r) => r.drifted).length;
  const driftShare = tested > 0 ? drifted / tested : null;
  const drift = driftShare !== null && driftShare >= policy.driftShare;
  return {
    features: results,
    tested,
    drifted,
    driftShare,
    shareThreshold: policy.driftShare,
    drift,
    status: driftShare === null ? 'insufficient_data' : drift ? 'alert' : 'ok',
    fdr: policy.bh ? policy.bh.fdr : null,
  };
}

/** BH across the window's p-value tests: drifted when the adjusted p-value is at most q. */
function applyBh(results: FeatureDrift[], fdr: number): void {
  const tested = results.filter(
    (r) =>
      r.status !== 'insufficient_data' && r.test !== null && isPValueTest(r.test) && r.pValue !== undefined,
  );
  const adjusted = benjaminiHochberg(tested.map((r) => r.pValue as number));
  tested.forEach((r, k) => {
    r.pAdjusted = adjusted[k] as number;
    r.threshold = fdr;
    r.drifted = r.pAdjusted <= fdr;
    r.status = r.drifted ? 'alert' : 'ok';
  });
}

function entries<T>(cols: Columns<T>): Map<string, T> {
  return cols instanceof Map ? (cols as Map<string, T>) : new Map(Object.entries(cols as Record<string, T>));
}
