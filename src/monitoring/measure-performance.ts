import { summarize } from '../ml/index.js';
import type { MonitorSpec } from './monitor-spec.schema.js';
import type { PointSink } from './point-builder.js';
import { inputOf, type ServedRow } from './window-traffic.js';

/*
 * Performance from delayed labels, per window and per slice of the protected attribute, with the
 * metrics of the evaluation module (the same numbers `sextant evaluate` prints). Label coverage and
 * label delay are reported beside them, since an accuracy over 3% of the traffic says little.
 * A label of the wrong type (a string for a regressor, a class the model does not know) is named, and
 * the window's performance answers insufficient_data rather than a number computed from bad labels.
 */

export const CLASSIFICATION_METRICS = [
  'accuracy',
  'precision',
  'recall',
  'f1',
  'roc_auc',
  'pr_auc',
  'log_loss',
  'brier',
] as const;
/** Classifiers of more than two classes (their probabilities name K > 2 classes). */
export const MULTICLASS_METRICS = [
  'accuracy',
  'f1_macro',
  'f1_micro',
  'precision_macro',
  'recall_macro',
  'log_loss',
] as const;
export const REGRESSION_METRICS = ['mae', 'rmse', 'r2', 'mape'] as const;
/** Every metric a monitor may ask for under `performance:`. */
export const PERFORMANCE_METRICS: readonly string[] = [
  ...new Set<string>([...CLASSIFICATION_METRICS, ...MULTICLASS_METRICS, ...REGRESSION_METRICS]),
];

type Task = 'classification' | 'regression';

export interface Labelled {
  /** 0/1 (binary classification), the class index (multiclass) or the target value. */
  labels: number[];
  /** The positive class's probability, every class's (multiclass: K per row), or the predicted value. */
  scores: number[];
  rows: ServedRow[];
  /** Multiclass: the model's classes, in the order of its probabilities. */
  classes?: string[];
}

/** The classes of a multiclass model's traffic (K > 2, in the order its probabilities list them). */
export function multiclassClasses(rows: readonly ServedRow[]): string[] | undefined {
  const first = rows.find((r) => r.probabilities !== undefined)?.probabilities;
  const classes = first ? Object.keys(first) : [];
  return classes.length > 2 ? classes : undefined;
}

/** The task of a version's traffic: the spec's, else classification when outputs carry probabilities. */
export function taskOf(spec: MonitorSpec, rows: readonly ServedRow[]): Task {
  if (spec.label?.task) return spec.label.task;
  return rows.some((r) => r.probabilities !== undefined) ? 'classification' : 'regression';
}

/** The positive class of a binary classifier: the spec's, else `1`, `true`, or the second class sorted. */
export function positiveClass(spec: MonitorSpec, rows: readonly ServedRow[]): string | undefined {
  const classes = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.probabilities ?? {})) classes.add(k);
  if (spec.label?.positive !== undefined) return String(spec.label.positive);
  if (classes.has('1')) return '1';
  if (classes.has('true')) return 'true';
  return [...classes].sort()[1];
}

/**
 * Labels and scores of the labelled rows, or the first label that cannot be used, named. With
 * `multiclass`, a model of K > 2 classes gets class indices and K scores per row; otherwise (the
 * binary views: outcomes, CBPE) its labels are scored against `positive`.
 */
export function labelledRows(
  task: Task,
  positive: string | undefined,
  rows: readonly ServedRow[],
  opts: { multiclass?: boolean } = {},
): Labelled | { error: string } {
  const multi = task === 'classification' && opts.multiclass ? multiclassClasses(rows) : undefined;
  const out: Labelled = { labels: [], scores: [], rows: [], ...(multi ? { classes: multi } : {}) };
  for (const r of rows) {
    if (r.label === undefined) continue;
    if (task === 'regression') {
      if (typeof r.label !== 'number' || !Number.isFinite(r.label))
        return {
          error: `label ${JSON.stringify(r.label)} of ${r.id} is not a number (the model is a regressor)`,
        };
      if (typeof r.prediction !== 'number')
        return { error: `prediction ${JSON.stringify(r.prediction)} of ${r.id} is not a number` };
      out.labels.push(r.label);
      out.scores.push(r.prediction);
    } else {
      const classes = Object.keys(r.probabilities ?? {});
      const label = String(r.label);
      if (positive === undefined || r.probabilities === undefined)
        return { error: `prediction ${r.id} has no class probabilities to score labels against` };
      if (!classes.includes(label))
        return {
          error: `label ${JSON.stringify(r.label)} of ${r.id} is not one of the model's classes (${classes.join(', ')})`,
        };
      if (multi) {
        out.labels.push(multi.indexOf(label));
        for (const c of multi) out.scores.push(r.probabilities[c] ?? 0);
      } else {
        out.labels.push(label === positive ? 1 : 0);
        out.scores.push(r.probabilities[positive] ?? 0);
      }
    }
    out.rows.push(r);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Writes coverage, delay and the metrics overall and per slice of the protected attribute. */
export function measurePerformance(sink: PointSink, spec: MonitorSpec, rows: readonly ServedRow[]): void {
  if (rows.length === 0) {
    sink.insufficient('performance.label_coverage', 'no predictions in the window');
    return;
  }
  const task = taskOf(spec, rows);
  const positive = task === 'classification' ? positiveClass(spec, rows) : undefined;
  const got = labelledRows(task, positive, rows, { multiclass: true });
  const known: readonly string[] =
    task === 'regression'
      ? REGRESSION_METRICS
      : multiclassClasses(rows)
        ? MULTICLASS_METRICS
        : CLASSIFICATION_METRICS;
  const wanted = (spec.performance ?? known).filter((m) => known.includes(m));
  const labelled = rows.filter((r) => r.label !== undefined);
  sink.add({
    metric: 'performance.label_coverage',
    value: labelled.length / rows.length,
    status: 'ok',
    details: { rows: rows.length, labelled: labelled.length },
  });
  const delays = labelled.map((r) => r.labelDelayMs ?? 0);
  if (delays.length === 0) sink.insufficient('performance.label_delay_ms', 'no labels in the window');
  else
    sink.add({
      metric: 'performance.label_delay_ms',
      value: median(delays),
      status: 'ok',
      details: { labelled: delays.length, max: Math.max(...delays) },
    });
  if ('error' in got) {
    for (const m of wanted) sink.insufficient(`performance.${m}`, got.error, { details: { task } });
    return;
  }
  const minRows = spec.drift.minRows;
  metricsOf(sink, task, wanted, got, null, minRows, positive);
  const attr = spec.protected?.attribute;
  if (!attr) return;
  const groups = new Map<string, Labelled>();
  for (const [i, r] of got.rows.entries()) {
    const v = inputOf(r, attr);
    const key = `${attr}=${v === null || v === undefined ? 'null' : String(v)}`;
    let g = groups.get(key);
    if (!g) {
      g = { labels: [], scores: [], rows: [], ...(got.classes ? { classes: got.classes } : {}) };
      groups.set(key, g);
    }
    const width = got.classes?.length ?? 1;
    g.labels.push(got.labels[i] as number);
    g.scores.push(...got.scores.slice(i * width, (i + 1) * width));
    g.rows.push(r);
  }
  for (const [slice, g] of [...groups.entries()].sort())
    metricsOf(sink, task, wanted, g, slice, spec.protected?.minGroupSize ?? minRows, positive);
}

function metricsOf(
  sink: PointSink,
  task: Task,
  wanted: readonly string[],
  l: Labelled,
  slice: string | null,
  minRows: number,
  positive: string | undefined,
): void {
  if (l.labels.length < minRows) {
    for (const m of wanted)
      sink.insufficient(`performance.${m}`, `${l.labels.length} labelled rows; at least ${minRows} needed`, {
        slice,
        details: { labelled: l.labels.length },
      });
    return;
  }
  const flat = summarize(task, l.labels, l.scores, l.classes).flat;
  for (const m of wanted) {
    const v = flat[m];
    if (v === undefined || !Number.isFinite(v))
      sink.insufficient(`performance.${m}`, oneClassReason(task, l.labels), {
        slice,
        details: { labelled: l.labels.length },
      });
    else
      sink.add({
        metric: `performance.${m}`,
        slice,
        value: v,
        status: 'ok',
        details: { labelled: l.labels.length, task, ...(positive ? { positive } : {}) },
      });
  }
}

function oneClassReason(task: Task, labels: readonly number[]): string {
  if (task === 'classification' && new Set(labels).size < 2) return 'the labels hold one class only';
  return 'undefined for these labels';
}
