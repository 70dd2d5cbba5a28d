import type { PredictionOutput, PredictionRole } from '../serving.schema.js';
import type { PredictionWithLabelRow } from './prediction.repo.js';

/*
 * The prediction log as pages of columns, what monitoring reads: a drift statistic wants one feature
 * over a window, not a million objects with twenty keys each. A page holds the rows' serving times, who
 * answered each (one shared object per distinct answer), their labels, and one column per input feature.
 *
 * Sources give pages of their own (the `predictions` table, open segments, sealed segments through
 * DuckDB); `mergeColumns` merges them in (served_at, id) order into pages of a fixed size, copying whole
 * runs of rows at a time.
 */

/**
 * One input feature over a page: a Float64Array when the source holds it as a typed number column,
 * else each row's JSON value (undefined: the row does not have the feature).
 */
export type FeatureColumn = Float64Array | readonly unknown[];

/** What answered a prediction: one object shared by every row with the same answer. */
export interface PredictionAnswer {
  modelVersionId: string;
  model: string;
  version: number;
  role: PredictionRole;
  outputs: PredictionOutput | null;
  /** The shadow challenger's answer on the row, if one ran (outputs null: it failed there). */
  shadow: { modelVersionId: string; outputs: PredictionOutput | null } | null;
}

/** The delayed label of a row, with the prediction's id (the only rows a metric names). */
export interface RowLabel {
  predictionId: string;
  value: number | string | boolean;
  /** Epoch ms. */
  receivedAt: number;
}

/** A page of the log, oldest first. */
export interface PredictionColumns {
  length: number;
  /** Epoch ms per row. */
  servedAt: Float64Array;
  answers: readonly PredictionAnswer[];
  labels: readonly (RowLabel | undefined)[];
  /** Every input feature a row of the page holds (or those asked for), in first-seen order. */
  inputs: ReadonlyMap<string, FeatureColumn>;
}

/** A source's page with the ids that break ties in served_at (absent where no other source can tie with it). */
export interface KeyedColumns extends PredictionColumns {
  ids: readonly string[] | undefined;
}

/** The key of an answer, to share one object between the rows that gave it. */
function answerKey(r: PredictionWithLabelRow): string {
  return [
    r.model_version_id,
    r.model,
    r.version,
    r.role,
    r.outputs,
    r.shadow_version_id,
    r.shadow_outputs,
  ].join('\u0000');
}

/** An answer from its stored columns (outputs as JSON text). */
export function answerOf(r: {
  model_version_id: string;
  model: string;
  version: number | string;
  role: string;
  outputs: string;
  shadow_version_id: string | null;
  shadow_outputs: string | null;
}): PredictionAnswer {
  return {
    modelVersionId: r.model_version_id,
    model: r.model,
    version: Number(r.version),
    role: r.role as PredictionRole,
    outputs: JSON.parse(r.outputs) as PredictionOutput | null,
    shadow:
      r.shadow_version_id === null
        ? null
        : {
            modelVersionId: r.shadow_version_id,
            outputs: r.shadow_outputs === null ? null : (JSON.parse(r.shadow_outputs) as PredictionOutput),
          },
  };
}

/**
 * Rows (sorted by (served_at, id), labels joined) as one page of columns. `features` keeps only those
 * (every one of them a column, even when no row has it); undefined keeps every feature seen.
 */
export function columnsOfRows(
  rows: readonly PredictionWithLabelRow[],
  features?: readonly string[],
): KeyedColumns {
  const n = rows.length;
  const servedAt = new Float64Array(n);
  const answers: PredictionAnswer[] = new Array(n);
  const labels: (RowLabel | undefined)[] = new Array(n);
  const ids: string[] = new Array(n);
  const inputs = new Map<string, unknown[]>((features ?? []).map((f) => [f, new Array(n).fill(undefined)]));
  const shared = new Map<string, PredictionAnswer>();
  for (let i = 0; i < n; i++) {
    const r = rows[i] as PredictionWithLabelRow;
    servedAt[i] = Number(r.served_at);
    ids[i] = r.id;
    const key = answerKey(r);
    let a = shared.get(key);
    if (!a) {
      a = answerOf(r);
      shared.set(key, a);
    }
    answers[i] = a;
    labels[i] =
      r.label === null || r.label === undefined
        ? undefined
        : {
            predictionId: r.id,
            value: JSON.parse(r.label) as RowLabel['value'],
            receivedAt: Number(r.label_received_at),
          };
    const values = JSON.parse(r.inputs) as Record<string, unknown> | null;
    if (values === null || typeof values !== 'object') continue;
    for (const [k, v] of Object.entries(values)) {
      let col = inputs.get(k);
      if (!col) {
        if (features) continue;
        col = new Array(n).fill(undefined);
        inputs.set(k, col);
      }
      col[i] = v;
    }
  }
  return { length: n, servedAt, answers, labels, inputs, ids };
}

/** A run of rows [start, end) of a source's page. */
interface Run {
  page: KeyedColumns;
  start: number;
  end: number;
}

/** One page out of runs of source pages: a feature stays a Float64Array when every run has it as one. */
function concatRuns(runs: readonly Run[]): PredictionColumns {
  const n = runs.reduce((k, r) => k + (r.end - r.start), 0);
  const servedAt = new Float64Array(n);
  const answers: PredictionAnswer[] = [];
  const labels: (RowLabel | undefined)[] = [];
  const names: string[] = [];
  for (const r of runs) for (const k of r.page.inputs.keys()) if (!names.includes(k)) names.push(k);
  let at = 0;
  for (const r of runs) {
    servedAt.set(r.page.servedAt.subarray(r.start, r.end), at);
    for (let i = r.start; i < r.end; i++) {
      answers.push(r.page.answers[i] as PredictionAnswer);
      labels.push(r.page.labels[i]);
    }
    at += r.end - r.start;
  }
  const inputs = new Map<string, FeatureColumn>();
  for (const name of names) {
    const typed = runs.every((r) => r.page.inputs.get(name) instanceof Float64Array);
    if (typed) {
      const col = new Float64Array(n);
      let o = 0;
      for (const r of runs) {
        col.set((r.page.inputs.get(name) as Float64Array).subarray(r.start, r.end), o);
        o += r.end - r.start;
      }
      inputs.set(name, col);
    } else {
      const col: unknown[] = [];
      for (const r of runs) {
        const src = r.page.inputs.get(name);
        for (let i = r.start; i < r.end; i++) col.push(src?.[i]);
      }
      inputs.set(name, col);
    }
  }
  return { length: n, servedAt, answers, labels, inputs };
}

/** A source read a page at a time; `at` is its next row. */
interface Cursor {
  next: () => Promise<IteratorResult<KeyedColumns>>;
  page: KeyedColumns | undefined;
  at: number;
}

async function fill(c: Cursor): Promise<void> {
  while (!c.page || c.at >= c.page.length) {
    const r = await c.next();
    if (r.done) {
      c.page = undefined;
      return;
    }
    c.page = r.value;
    c.at = 0;
  }
}

/** Whether row i of a comes before row j of b in (served_at, id) order. */
function before(a: KeyedColumns, i: number, b: KeyedColumns, j: number): boolean {
  const x = a.servedAt[i] as number;
  const y = b.servedAt[j] as number;
  if (x !== y) return x < y;
  // A source without ids never shares a served_at with another (the caller asks for ids where it could).
  const p = a.ids?.[i];
  const q = b.ids?.[j];
  return p === undefined || q === undefined || p < q;
}

/**
 * Merges sources (each in (served_at, id) order) into pages of `pageSize` rows in that order. Memory
 * holds a page of each source and the page being built.
 */
export async function* mergeColumns(
  sources: readonly AsyncIterable<KeyedColumns>[],
  pageSize: number,
): AsyncIterable<PredictionColumns> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const cursors: Cursor[] = iterators.map((it) => ({ next: () => it.next(), page: undefined, at: 0 }));
  try {
    let runs: Run[] = [];
    let size = 0;
    for (;;) {
      for (const c of cursors) await fill(c);
      const live = cursors.filter((c) => c.page !== undefined);
      if (live.length === 0) break;
      let first = live[0] as Cursor;
      for (const c of live)
        if (c !== first && before(c.page as KeyedColumns, c.at, first.page as KeyedColumns, first.at))
          first = c;
      const page = first.page as KeyedColumns;
      const others = live.filter((c) => c !== first);
      // The run: the rows of this source that come before every other source's next row.
      let end = first.at + 1;
      const stop = Math.min(page.length, first.at + (pageSize - size));
      while (end < stop && others.every((o) => before(page, end, o.page as KeyedColumns, o.at))) end++;
      runs.push({ page, start: first.at, end });
      size += end - first.at;
      first.at = end;
      if (size === pageSize) {
        yield concatRuns(runs);
        runs = [];
        size = 0;
      }
    }
    if (size > 0) yield concatRuns(runs);
  } finally {
    // A consumer that stops early (the first N rows) ends every source too: a sealed read closes its
    // DuckDB connection and copies no further segment.
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}
