import type { FeatureColumn, PredictionAnswer, PredictionColumns } from '../serving/index.js';

/** The prediction log's columnar scan (serving's PredictionStore fits): pages oldest first over [since, until). */
export interface PredictionScan {
  scanColumns(q: {
    deploymentId: string;
    since: number;
    until: number;
    /** The input features to read; undefined: every feature the rows hold. */
    features?: readonly string[] | undefined;
    batchSize?: number;
  }): AsyncIterable<PredictionColumns>;
}

/*
 * One window of a deployment's prediction log, split per model version: the champion's rows, a canary
 * challenger's rows (they carry its version) and a shadow challenger's answers (carried on the
 * champion's rows, with the same inputs and label). Each version is judged on its own traffic.
 */

export interface ServedRow {
  /** The prediction's id where a label came in (the rows a metric may name); the scan reads no other. */
  id: string | undefined;
  servedAt: number;
  inputs: Record<string, unknown>;
  prediction: number | string | null;
  probabilities: Record<string, number> | undefined;
  /** The delayed label, when it came in; with the delay from serving to label. */
  label: number | string | boolean | undefined;
  labelDelayMs: number | undefined;
}

export interface VersionTraffic {
  modelVersionId: string;
  /** Known from the rows for champion and canary; a shadow's comes from the registry (see resolveShadow). */
  model: string;
  version: number | undefined;
  role: 'champion' | 'challenger' | 'shadow';
  rows: ServedRow[];
}

/**
 * Row i of a page of the log. Its inputs stay in the page's columns: the object `inputs` is built only
 * for a row that is asked for it (a reference sample); drift and quality read a feature at a time
 * through inputColumn, which builds no object per row.
 */
class PageRow implements ServedRow {
  readonly id: string | undefined;
  readonly servedAt: number;
  readonly prediction: number | string | null;
  readonly probabilities: Record<string, number> | undefined;
  readonly label: number | string | boolean | undefined;
  readonly labelDelayMs: number | undefined;
  #inputs: Record<string, unknown> | undefined;

  constructor(
    readonly page: PredictionColumns,
    readonly index: number,
    outputs: NonNullable<PredictionAnswer['outputs']>,
  ) {
    const servedAt = page.servedAt[index] as number;
    const label = page.labels[index];
    this.id = label?.predictionId;
    this.servedAt = servedAt;
    this.prediction = outputs.prediction;
    this.probabilities = outputs.probabilities;
    this.label = label?.value;
    this.labelDelayMs = label ? label.receivedAt - servedAt : undefined;
  }

  get inputs(): Record<string, unknown> {
    if (!this.#inputs) {
      const inputs: Record<string, unknown> = {};
      for (const [name, col] of this.page.inputs) {
        const v = col[this.index];
        if (v !== undefined) inputs[name] = v;
      }
      this.#inputs = inputs;
    }
    return this.#inputs;
  }
}

/** One input feature over rows (undefined where a row lacks it), read from the pages' columns. */
export function inputColumn(rows: readonly ServedRow[], name: string): unknown[] {
  let page: PredictionColumns | undefined;
  let col: FeatureColumn | undefined;
  return rows.map((r) => {
    if (!(r instanceof PageRow)) return r.inputs[name];
    if (r.page !== page) {
      page = r.page;
      col = page.inputs.get(name);
    }
    return col?.[r.index];
  });
}

/** One input feature of a row (undefined when it lacks it). */
export function inputOf(r: ServedRow, name: string): unknown {
  return r instanceof PageRow ? r.page.inputs.get(name)?.[r.index] : r.inputs[name];
}

/** The input features the rows hold, in first-seen order. */
export function inputNames(rows: readonly ServedRow[]): Set<string> {
  const seen = new Set<string>();
  let whole: PredictionColumns | undefined;
  for (const r of rows) {
    if (!(r instanceof PageRow)) {
      for (const k of Object.keys(r.inputs)) seen.add(k);
      continue;
    }
    if (r.page === whole) continue;
    // A page of typed columns only: every row holds every feature.
    if ([...r.page.inputs.values()].every((c) => c instanceof Float64Array)) {
      for (const k of r.page.inputs.keys()) seen.add(k);
      whole = r.page;
      continue;
    }
    for (const [k, col] of r.page.inputs) if (col[r.index] !== undefined) seen.add(k);
  }
  return seen;
}

/** Adds one page of the log to per-version traffic (keyed by version id; a shadow's by `shadow:<id>`). */
export function splitPage(page: PredictionColumns, out: Map<string, VersionTraffic>): void {
  const add = (key: string, init: () => VersionTraffic, row: ServedRow) => {
    let t = out.get(key);
    if (!t) {
      t = init();
      out.set(key, t);
    }
    t.rows.push(row);
  };
  for (let i = 0; i < page.length; i++) {
    const p = page.answers[i] as PredictionAnswer;
    // A failed prediction (its model server failed) answered nothing: it is no one's traffic.
    if (p.outputs === null) continue;
    add(
      p.modelVersionId,
      () => ({
        modelVersionId: p.modelVersionId,
        model: p.model,
        version: p.version,
        role: p.role,
        rows: [],
      }),
      new PageRow(page, i, p.outputs),
    );
    // A shadow that failed on a row has no answer there: the row is not its traffic.
    const shadow = p.shadow;
    if (shadow?.outputs)
      add(
        `shadow:${shadow.modelVersionId}`,
        () => ({
          modelVersionId: shadow.modelVersionId,
          model: p.model,
          version: undefined,
          role: 'shadow',
          rows: [],
        }),
        new PageRow(page, i, shadow.outputs),
      );
  }
}

/**
 * Reads [since, until) of a deployment's log (oldest first) into per-version traffic: the rows' inputs
 * hold only `features` when given (a feature list spares the scan the check for untyped features).
 */
export async function readWindow(
  predictions: PredictionScan,
  q: { deploymentId: string; since: number; until: number; features?: readonly string[] | undefined },
): Promise<Map<string, VersionTraffic>> {
  const out = new Map<string, VersionTraffic>();
  for await (const page of predictions.scanColumns({ ...q, batchSize: 5000 })) splitPage(page, out);
  return out;
}

/** The last n rows (a count window), or all when fewer. */
export function lastRows(t: VersionTraffic, n: number, skip = 0): VersionTraffic {
  const end = Math.max(0, t.rows.length - skip);
  return { ...t, rows: t.rows.slice(Math.max(0, end - n), end) };
}
