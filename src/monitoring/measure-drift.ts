import { isAppError } from '../core/errors.js';
import {
  type ColumnDrift,
  type DriftTest,
  defaultTest,
  profileColumnDrift,
  sampleColumnDrift,
} from '../data/stats/index.js';
import type { ColumnProfile, ColumnType } from '../data/tables/index.js';
import { isMissing, liveColumnProfile } from './live-profile.js';
import type { DriftPolicy } from './monitor-spec.schema.js';
import type { PointSink } from './point-builder.js';

/*
 * Drift of each feature between a current window and a reference: raw values on both sides (exact
 * statistics), or a stored profile as the reference (sketch-based KS / Wasserstein, ~1% in probability;
 * the point says `approximate`). The test is Evidently's size-aware default unless the policy names
 * one; a side with fewer than minRows non-null values answers insufficient_data, never a verdict.
 * `drift.*` compares with the previous serving window, `skew.*` with the training reference.
 */

export interface ReferenceSide {
  /** Raw values (exact tests) or a stored profile (from sketches); raw wins when both are there. */
  values?: readonly unknown[] | undefined;
  profile?: ColumnProfile | undefined;
  /** Named in every point: `credit@3`, `previous window`. */
  label: string;
}

export interface FeatureInput {
  name: string;
  current: readonly unknown[];
  /** Undefined: the feature is absent from the reference (named in the point). */
  reference: ReferenceSide | undefined;
  /** Outputs (prediction, score) are tested but stay out of the drift share of the inputs. */
  output?: boolean;
}

// PSI bands of credit-risk practice: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.
const PSI_WARNING = 0.1;
const PSI_ALERT = 0.25;

type Scalar = number | string | boolean | null;

function asColumn(values: readonly unknown[], type: ColumnType): Scalar[] {
  const numeric = type === 'integer' || type === 'float';
  return values.map((v) => {
    if (isMissing(v)) return null;
    if (numeric) return typeof v === 'number' ? v : null;
    if (type === 'boolean') return typeof v === 'boolean' ? v : String(v);
    return String(v);
  });
}

const present = (values: readonly unknown[]) => values.filter((v) => !isMissing(v)).length;

/** Tests every feature, applies Benjamini-Hochberg when asked, writes points and the drift share. */
export function measureDrift(
  sink: PointSink,
  prefix: 'drift' | 'skew',
  features: readonly FeatureInput[],
  policy: DriftPolicy,
): void {
  const tested: { f: FeatureInput; r: ColumnDrift; refRows: number; curRows: number; label: string }[] = [];
  for (const f of features) {
    const override = policy.tests[f.name];
    const metricOf = (test: DriftTest | undefined) => `${prefix}.${test ?? override ?? 'auto'}`;
    if (!f.reference) {
      sink.insufficient(metricOf(undefined), `feature '${f.name}' is absent from the reference`, {
        feature: f.name,
      });
      continue;
    }
    const ref = f.reference;
    const refRows = ref.values ? present(ref.values) : (ref.profile?.count ?? 0) - (ref.profile?.nulls ?? 0);
    const curRows = present(f.current);
    const type: ColumnType = ref.profile?.type ?? liveColumnProfile(f.name, ref.values ?? []).type;
    if (refRows < policy.minRows || curRows < policy.minRows) {
      const test = override ?? guessTest(type, refRows, ref);
      sink.insufficient(
        metricOf(test),
        `${Math.min(refRows, curRows)} non-null rows on the ${refRows < curRows ? `reference (${ref.label})` : 'current window'} side; minRows is ${policy.minRows}`,
        { feature: f.name, details: { referenceRows: refRows, currentRows: curRows, reference: ref.label } },
      );
      continue;
    }
    const opts: { test?: DriftTest; threshold?: number } = {};
    if (override) opts.test = override;
    let r: ColumnDrift;
    try {
      r = ref.values
        ? sampleColumnDrift(f.name, type, asColumn(ref.values, type), asColumn(f.current, type), opts)
        : profileColumnDrift(ref.profile as ColumnProfile, liveColumnProfile(f.name, f.current, type), opts);
      // The threshold of the chosen test (known only once the default test is chosen).
      const t = r.test ? policy.thresholds[r.test] : undefined;
      if (t !== undefined && r.test) {
        opts.test = r.test;
        opts.threshold = t;
        r = ref.values
          ? sampleColumnDrift(f.name, type, asColumn(ref.values, type), asColumn(f.current, type), opts)
          : profileColumnDrift(
              ref.profile as ColumnProfile,
              liveColumnProfile(f.name, f.current, type),
              opts,
            );
      }
    } catch (err) {
      if (!isAppError(err)) throw err;
      sink.insufficient(metricOf(override), err.message, { feature: f.name });
      continue;
    }
    if (!r.test) {
      sink.insufficient(metricOf(override), r.skipped ?? 'not tested', { feature: f.name });
      continue;
    }
    tested.push({ f, r, refRows, curRows, label: ref.label });
  }

  const bh = policy.bhFdr === undefined ? undefined : benjaminiHochberg(tested, policy.bhFdr);
  let drifted = 0;
  let inputs = 0;
  for (const [i, { f, r, refRows, curRows, label }] of tested.entries()) {
    const test = r.test as DriftTest;
    // Under BH the p-value tests drift by rank, not by their own threshold.
    const isDrifted = bh && r.pValue !== undefined ? bh.has(i) : r.drifted;
    if (!f.output) {
      inputs++;
      if (isDrifted) drifted++;
    }
    const details = {
      test,
      statistic: r.statistic,
      ...(r.pValue !== undefined ? { pValue: r.pValue } : {}),
      ...(r.distance !== undefined ? { distance: r.distance } : {}),
      threshold: r.threshold,
      drifted: isDrifted,
      approximate: r.approximate,
      referenceRows: refRows,
      currentRows: curRows,
      reference: label,
      ...(bh && r.pValue !== undefined ? { bhFdr: policy.bhFdr } : {}),
      ...(f.output ? { output: true } : {}),
    };
    const value = r.pValue ?? r.distance ?? null;
    if (test === 'psi') {
      sink.add({
        metric: `${prefix}.psi`,
        feature: f.name,
        value,
        status: psiStatus(value, policy),
        details,
      });
      continue;
    }
    sink.add({
      metric: `${prefix}.${test}`,
      feature: f.name,
      value,
      status: isDrifted ? 'alert' : 'ok',
      details,
    });
    if (r.psi !== undefined)
      sink.add({
        metric: `${prefix}.psi`,
        feature: f.name,
        value: r.psi,
        status: psiStatus(r.psi, policy),
        details: { referenceRows: refRows, currentRows: curRows, reference: label },
      });
  }
  const inputFeatures = features.filter((f) => !f.output).length;
  if (inputFeatures === 0) return;
  if (inputs === 0)
    sink.insufficient(`${prefix}.share`, 'no feature had enough rows on both sides to be tested', {
      details: { features: inputFeatures },
    });
  else
    sink.add({
      metric: `${prefix}.share`,
      value: drifted / inputs,
      status: drifted / inputs >= policy.driftShare ? 'alert' : 'ok',
      details: { drifted, tested: inputs, features: inputFeatures, threshold: policy.driftShare },
    });
}

function psiStatus(value: number | null, policy: DriftPolicy): 'ok' | 'warning' | 'alert' {
  const alertAt = policy.thresholds.psi ?? PSI_ALERT;
  if (value === null) return 'ok';
  if (value >= alertAt) return 'alert';
  return value >= Math.min(PSI_WARNING, alertAt) ? 'warning' : 'ok';
}

function guessTest(type: ColumnType, refRows: number, ref: ReferenceSide): DriftTest {
  const numeric = type === 'integer' || type === 'float';
  const uniques = ref.profile?.distinct ?? new Set((ref.values ?? []).map(String)).size;
  return defaultTest({
    kind: numeric ? 'numeric' : 'categorical',
    referenceRows: refRows,
    referenceUniques: uniques,
  });
}

/**
 * Benjamini-Hochberg at false discovery rate q over the p-value tests: sort the m p-values, find the
 * largest k with p_(k) <= k q / m, and flag the k smallest. Returns the indexes (into `tested`) flagged.
 */
export function benjaminiHochberg(tested: readonly { r: ColumnDrift }[], q: number): Set<number> {
  const ps = tested
    .map((t, i) => ({ i, p: t.r.pValue }))
    .filter((x): x is { i: number; p: number } => x.p !== undefined)
    .sort((a, b) => a.p - b.p);
  const m = ps.length;
  let k = 0;
  for (let j = 0; j < m; j++) if ((ps[j] as { p: number }).p <= ((j + 1) * q) / m) k = j + 1;
  return new Set(ps.slice(0, k).map((x) => x.i));
}
