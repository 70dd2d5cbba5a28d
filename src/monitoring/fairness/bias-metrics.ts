import {
  binaryOutcomes,
  checkColumns,
  checkMinGroupSize,
  FAIRNESS_DEFAULTS,
  type FacetValue,
  type LabelValue,
  splitByFacet,
} from './facet-groups.js';

/*
 * SageMaker Clarify's bias metrics for one protected attribute, each facet value d against the rest
 * a, signs exactly as Clarify writes them (a - d or d - a; docs/monitoring-estimation.md). Where
 * Clarify turns a zero denominator into 0 (0/0) or +-infinity, we answer `undefined` with the reason,
 * e.g. "division_by_zero: FP_d = 0"; a group (d or the rest) smaller than minGroupSize gets
 * `insufficient_data`. No NaN leaves this file.
 */

/** Post-training metrics (predictions and labels). */
export const POST_TRAINING_METRICS = [
  'DPPL',
  'DI',
  'DCA',
  'DCR',
  'RD',
  'SD',
  'DAR',
  'DRR',
  'AD',
  'TE',
] as const;
export type PostTrainingMetric = (typeof POST_TRAINING_METRICS)[number];
/** Pre-training metrics (labels of a dataset). */
export const PRE_TRAINING_METRICS = ['CI', 'DPL'] as const;
export type PreTrainingMetric = (typeof PRE_TRAINING_METRICS)[number];

/** One metric for one group: a number, or null with the reason. */
export interface FairnessValue {
  value: number | null;
  status: 'ok' | 'insufficient_data' | 'undefined';
  reason?: string;
  /** DI only: true when DI < 0.8 (the four-fifths rule). */
  fourFifths?: boolean;
}

/** Confusion counts of one side (d or the rest); pre-training has labels only. */
export interface SideCounts {
  n: number;
  /** Rows with a positive label, n(1). */
  positives: number;
  /** Post-training: predicted positives n^(1) and the confusion matrix. */
  predictedPositives?: number;
  tp?: number;
  fp?: number;
  fn?: number;
  tn?: number;
}

/** One facet value against the rest. */
export interface FairnessGroup<M extends string> {
  /** The facet value (as a string) and its slice name `<attribute>=<value>`. */
  value: string;
  slice: string;
  /** n_d and n_a. */
  size: number;
  restSize: number;
  facet: SideCounts;
  rest: SideCounts;
  metrics: Record<M, FairnessValue>;
}

/** Every facet value of one attribute. */
export interface FairnessReport<M extends string> {
  kind: 'post_training' | 'pre_training';
  attribute: string;
  /** Rows with a facet value, and rows left out because it was missing. */
  rows: number;
  excludedRows: number;
  minGroupSize: number;
  groups: FairnessGroup<M>[];
}

/** Input of the post-training metrics: predicted labels (0/1, or compared with positiveLabel) beside labels. */
export interface PostTrainingInput {
  attribute: string;
  facet: ArrayLike<FacetValue>;
  labels: ArrayLike<LabelValue>;
  predictions: ArrayLike<LabelValue>;
  /** The favourable outcome when labels and predictions are not 0/1 or boolean. */
  positiveLabel?: string | number | boolean;
  minGroupSize?: number;
}

/** Input of the pre-training metrics: a labelled dataset's facet and label columns. */
export interface PreTrainingInput {
  attribute: string;
  facet: ArrayLike<FacetValue>;
  labels: ArrayLike<LabelValue>;
  positiveLabel?: string | number | boolean;
  minGroupSize?: number;
}

type Num = { value: number; reason?: undefined } | { value: null; reason: string };

const div = (num: number, den: number, denName: string): Num =>
  den === 0 ? { value: null, reason: `division_by_zero: ${denName} = 0` } : { value: num / den };

const minus = (x: Num, y: Num): Num =>
  x.value === null ? x : y.value === null ? y : { value: x.value - y.value };

const toValue = (r: Num): FairnessValue =>
  r.value === null
    ? { value: null, status: 'undefined', reason: r.reason }
    : { value: r.value, status: 'ok' };

/** DPPL, DI (four-fifths flag), DCA, DCR, RD, SD, DAR, DRR, AD, TE per facet value vs the rest. */
export function postTrainingBias(input: PostTrainingInput): FairnessReport<PostTrainingMetric> {
  checkColumns(input.facet, { labels: input.labels, predictions: input.predictions });
  const labels = binaryOutcomes(input.labels, 'labels', input.positiveLabel);
  const predictions = binaryOutcomes(input.predictions, 'predictions', input.positiveLabel);
  return report(
    'post_training',
    input,
    POST_TRAINING_METRICS,
    (rows) => confusion(rows, labels, predictions),
    post,
  );
}

/** CI and DPL per facet value vs the rest, on a labelled dataset. */
export function preTrainingBias(input: PreTrainingInput): FairnessReport<PreTrainingMetric> {
  checkColumns(input.facet, { labels: input.labels });
  const labels = binaryOutcomes(input.labels, 'labels', input.positiveLabel);
  return report(
    'pre_training',
    input,
    PRE_TRAINING_METRICS,
    (rows) => ({ n: rows.length, positives: rows.reduce((s, i) => s + labels[i]!, 0) }),
    pre,
  );
}

function report<M extends string>(
  kind: FairnessReport<M>['kind'],
  input: { attribute: string; facet: ArrayLike<FacetValue>; minGroupSize?: number },
  names: readonly M[],
  count: (rows: number[]) => SideCounts,
  compute: (d: SideCounts, a: SideCounts) => Record<M, FairnessValue>,
): FairnessReport<M> {
  const minGroupSize = checkMinGroupSize(input.minGroupSize ?? FAIRNESS_DEFAULTS.minGroupSize);
  const { groups, excludedRows } = splitByFacet(input.attribute, input.facet);
  const all = [...groups.values()].flat();
  const total = count(all);
  const out: FairnessGroup<M>[] = [];
  for (const [value, rows] of groups) {
    const d = count(rows);
    const a = subtract(total, d);
    const small = d.n < minGroupSize || a.n < minGroupSize;
    const reason = `group_too_small: n_d = ${d.n}, n_a = ${a.n}, minimum ${minGroupSize}`;
    const metrics = small
      ? (Object.fromEntries(
          names.map((m) => [m, { value: null, status: 'insufficient_data', reason } satisfies FairnessValue]),
        ) as Record<M, FairnessValue>)
      : compute(d, a);
    out.push({
      value,
      slice: `${input.attribute}=${value}`,
      size: d.n,
      restSize: a.n,
      facet: d,
      rest: a,
      metrics,
    });
  }
  return { kind, attribute: input.attribute, rows: total.n, excludedRows, minGroupSize, groups: out };
}

function confusion(rows: number[], labels: Uint8Array, predictions: Uint8Array): SideCounts {
  const c = { n: rows.length, positives: 0, predictedPositives: 0, tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const i of rows) {
    const y = labels[i]!;
    const p = predictions[i]!;
    c.positives += y;
    c.predictedPositives += p;
    if (y === 1) p === 1 ? c.tp++ : c.fn++;
    else p === 1 ? c.fp++ : c.tn++;
  }
  return c;
}

function subtract(total: SideCounts, d: SideCounts): SideCounts {
  const out: SideCounts = { n: total.n - d.n, positives: total.positives - d.positives };
  for (const k of ['predictedPositives', 'tp', 'fp', 'fn', 'tn'] as const) {
    if (total[k] !== undefined) out[k] = total[k]! - d[k]!;
  }
  return out;
}

function pre(d: SideCounts, a: SideCounts): Record<PreTrainingMetric, FairnessValue> {
  return {
    CI: toValue(div(a.n - d.n, a.n + d.n, 'n_a + n_d')),
    DPL: toValue(minus(div(a.positives, a.n, 'n_a'), div(d.positives, d.n, 'n_d'))),
  };
}

function post(d: SideCounts, a: SideCounts): Record<PostTrainingMetric, FairnessValue> {
  const [dp, ap] = [d.predictedPositives!, a.predictedPositives!];
  const [dpn, apn] = [d.n - dp, a.n - ap]; // predicted negatives n^(0)
  const qd = div(dp, d.n, 'n_d');
  const qa = div(ap, a.n, 'n_a');
  const di = toValue(
    qd.value === null ? qd : div(qd.value, qa.value ?? 0, "q^_a (the rest's predicted positive rate)"),
  );
  if (di.value !== null) di.fourFifths = di.value < FAIRNESS_DEFAULTS.fourFifths;
  const acc = (s: SideCounts, side: string) => div(s.tp! + s.tn!, s.n, `n_${side}`);
  return {
    DPPL: toValue(minus(qa, qd)),
    DI: di,
    DCA: toValue(minus(div(a.positives, ap, 'n^_a(1)'), div(d.positives, dp, 'n^_d(1)'))),
    DCR: toValue(minus(div(d.n - d.positives, dpn, 'n^_d(0)'), div(a.n - a.positives, apn, 'n^_a(0)'))),
    RD: toValue(minus(div(a.tp!, a.tp! + a.fn!, 'TP_a + FN_a'), div(d.tp!, d.tp! + d.fn!, 'TP_d + FN_d'))),
    SD: toValue(minus(div(d.tn!, d.tn! + d.fp!, 'TN_d + FP_d'), div(a.tn!, a.tn! + a.fp!, 'TN_a + FP_a'))),
    DAR: toValue(minus(div(a.tp!, ap, 'n^_a(1)'), div(d.tp!, dp, 'n^_d(1)'))),
    DRR: toValue(minus(div(d.tn!, dpn, 'n^_d(0)'), div(a.tn!, apn, 'n^_a(0)'))),
    AD: toValue(minus(acc(a, 'a'), acc(d, 'd'))),
    TE: toValue(minus(div(d.fn!, d.fp!, 'FP_d'), div(a.fn!, a.fp!, 'FP_a'))),
  };
}
