import type * as Ort from 'onnxruntime-node';
import { ValidationError } from '../../core/errors.js';
import { lazyRequire } from '../../core/lazy-require.js';
import type { PredictionOutput } from '../serving.schema.js';
import type { ModelPlan, RecordInput } from './model-plan.js';

const ort = lazyRequire<typeof Ort>('onnxruntime-node');

/*
 * Between records and tensors: the feeds of one run (one typed array per input, filled in one loop)
 * and the reading of its outputs back into per-row answers.
 */

type Tensor = InstanceType<typeof Ort.Tensor>;

/** The outputs of one run, row-major: `width` elements per row. */
export interface RunOutputs {
  [name: string]: { data: ArrayLike<unknown>; width: number; rank: number; rows: number };
}

/** Row r of a run as the answer of the model's head (label + probabilities, value, or raw outputs). */
export function decodeRow(out: RunOutputs, r: number, plan: ModelPlan): PredictionOutput {
  const head = plan.head;
  switch (head.mode) {
    case 'classifier': {
      const p = out[head.probabilities]!;
      const probabilities: Record<string, number> = {};
      let best = 0;
      let bestP = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < p.width; c++) {
        const v = Number(p.data[r * p.width + c]);
        probabilities[head.classes[c] ?? String(c)] = v;
        if (v > bestP) {
          bestP = v;
          best = c;
        }
      }
      const l = head.label === null ? undefined : out[head.label];
      const label = l !== undefined ? String(l.data[r * l.width]) : (head.classes[best] ?? String(best));
      return { prediction: head.integerClasses ? Number(label) : label, probabilities };
    }
    case 'regressor': {
      const o = out[head.value]!;
      return { prediction: jsonNumber(o.data[r * o.width]) };
    }
    case 'raw': {
      const outputs: Record<string, unknown> = {};
      for (const name of head.outputs) {
        const o = out[name]!;
        if (o.rank <= 1) outputs[name] = jsonValue(o.data[r]);
        else {
          const row = new Array(o.width);
          for (let k = 0; k < o.width; k++) row[k] = jsonValue(o.data[r * o.width + k]);
          outputs[name] = row;
        }
      }
      const p = out[head.prediction]!;
      const v = p.data[r * p.width];
      return { prediction: typeof v === 'string' ? v : jsonNumber(v), outputs };
    }
  }
}

/** A number JSON can carry (NaN and infinities become null); bigints become numbers. */
function jsonNumber(v: unknown): number | null {
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function jsonValue(v: unknown): unknown {
  return typeof v === 'string' ? v : typeof v === 'boolean' ? v : jsonNumber(v);
}

/** A raw value as a number for the model: booleans are 1/0, null/absent/'' are NaN (missing). */
function toNumber(v: unknown, name: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === null || v === undefined) return Number.NaN;
  if (typeof v === 'string') {
    if (v.trim() === '') return Number.NaN;
    const n = Number(v);
    if (!Number.isNaN(n)) return n;
  }
  throw new ValidationError(`${name} must be a number`, { field: name });
}

function toText(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'string' ? v : String(v);
}

/** One [N, 1] (or [N]) tensor per feature input. */
export function recordFeeds(
  inputs: readonly RecordInput[],
  rows: readonly Record<string, unknown>[],
): Record<string, Tensor> {
  const n = rows.length;
  const feeds: Record<string, Tensor> = {};
  for (const input of inputs) {
    const name = input.name;
    const dims = input.rank === 2 ? [n, 1] : [n];
    switch (input.feed) {
      case 'float32':
      case 'float64': {
        const a = input.feed === 'float32' ? new Float32Array(n) : new Float64Array(n);
        for (let i = 0; i < n; i++) a[i] = toNumber(rows[i]![name], name);
        feeds[name] = new (ort().Tensor)(input.feed, a, dims);
        break;
      }
      case 'int32': {
        const a = new Int32Array(n);
        for (let i = 0; i < n; i++) a[i] = Math.round(toNumber(rows[i]![name], name)) || 0;
        feeds[name] = new (ort().Tensor)('int32', a, dims);
        break;
      }
      case 'int64': {
        const a = new BigInt64Array(n);
        for (let i = 0; i < n; i++) a[i] = BigInt(Math.round(toNumber(rows[i]![name], name)) || 0);
        feeds[name] = new (ort().Tensor)('int64', a, dims);
        break;
      }
      case 'bool': {
        const a = new Uint8Array(n);
        for (let i = 0; i < n; i++) a[i] = toNumber(rows[i]![name], name) ? 1 : 0;
        feeds[name] = new (ort().Tensor)('bool', a, dims);
        break;
      }
      case 'string': {
        const a = new Array<string>(n);
        for (let i = 0; i < n; i++) a[i] = toText(rows[i]![name]);
        feeds[name] = new (ort().Tensor)('string', a, dims);
        break;
      }
    }
  }
  return feeds;
}

/** The typed array a 'tensor' model is fed from. */
export type FeatureMatrix = Float32Array | Float64Array;

/*
 * The record checker fills a 'tensor' model's feature matrix in the same pass that checks the
 * records (one read of each value, no second walk to build the tensor). The matrix rides beside the
 * records array it was checked from; records handed out by the checker are never changed afterwards,
 * so the matrix stays theirs. Records from anywhere else (CSV, explanations' perturbed rows, a
 * caller's own) have none and are read value by value.
 */
const matrices = new WeakMap<readonly object[], { plan: ModelPlan; matrix: FeatureMatrix }>();

/**
 * Remembers the checked feature matrix of `records` (row-major, one row per record) in `plan`'s
 * feature order. Only that plan reuses it: a shadow model given the same records reads them by its
 * own feature names (its order or names may differ).
 */
export function rememberFeatureMatrix(
  records: readonly object[],
  plan: ModelPlan,
  matrix: FeatureMatrix,
): void {
  matrices.set(records, { plan, matrix });
}

function matrixFor(records: readonly object[], plan: ModelPlan): FeatureMatrix | undefined {
  const entry = matrices.get(records);
  return entry !== undefined && entry.plan === plan ? entry.matrix : undefined;
}

/**
 * Below this many records a request's values are read when the batch runs, as before: for a single
 * record the typed array and its WeakMap entry cost more than the second read they save (measured
 * with bench/serving-path.bench.ts: single records 7 us a request without, 10 us with).
 */
const MIN_MATRIX_ROWS = 8;

/** A new feature matrix for `rows` records of a 'tensor' model (null for other models and small requests). */
export function newFeatureMatrix(plan: ModelPlan, rows: number): FeatureMatrix | null {
  const input = plan.tensorInput;
  if (input === null || rows < MIN_MATRIX_ROWS) return null;
  const size = rows * input.width;
  return input.feed === 'float32' ? new Float32Array(size) : new Float64Array(size);
}

/**
 * The single [N, D] float tensor of a 'tensor' model, features in signature order. `parts` are the
 * calls a batch joined (rows is their concatenation): their checked matrices are copied in whole.
 */
export function tensorFeeds(
  plan: ModelPlan,
  rows: readonly Record<string, unknown>[],
  parts: readonly (readonly Record<string, unknown>[])[] = [rows],
): Record<string, Tensor> {
  const input = plan.tensorInput!;
  const d = input.width;
  const n = rows.length;
  let a = parts.length === 1 ? matrixFor(parts[0]!, plan) : undefined;
  if (a === undefined || a.length !== n * d || !sameFeed(a, input.feed)) {
    a = input.feed === 'float32' ? new Float32Array(n * d) : new Float64Array(n * d);
    const names = plan.features.map((f) => f.name);
    let at = 0;
    for (const part of parts) {
      const m = matrixFor(part, plan);
      if (m !== undefined && m.length === part.length * d && sameFeed(m, input.feed)) {
        a.set(m, at * d);
      } else {
        for (let i = 0; i < part.length; i++) {
          const row = part[i]!;
          const base = (at + i) * d;
          for (let j = 0; j < d; j++) a[base + j] = toNumber(row[names[j]!], names[j]!);
        }
      }
      at += part.length;
    }
  }
  return { [input.name]: new (ort().Tensor)(input.feed, a, [n, d]) };
}

function sameFeed(m: FeatureMatrix, feed: 'float32' | 'float64'): boolean {
  return feed === 'float32' ? m instanceof Float32Array : m instanceof Float64Array;
}

/** Joins the outputs of row-by-row runs (fixed-batch models) into one. */
export function concatOutputs(parts: RunOutputs[], names: string[]): RunOutputs {
  const out: RunOutputs = {};
  for (const name of names) {
    const first = parts[0]![name]!;
    const total = parts.reduce((s, p) => s + p[name]!.data.length, 0);
    const data = ArrayBuffer.isView(first.data)
      ? new (
          first.data.constructor as new (
            n: number,
          ) => { set(a: ArrayLike<unknown>, o: number): void } & ArrayLike<unknown>
        )(total)
      : new Array<unknown>(total);
    let at = 0;
    for (const p of parts) {
      const chunk = p[name]!.data;
      if ('set' in data && typeof data.set === 'function')
        (data as { set(a: ArrayLike<unknown>, o: number): void }).set(chunk, at);
      else for (let k = 0; k < chunk.length; k++) (data as unknown[])[at + k] = chunk[k];
      at += chunk.length;
    }
    out[name] = { data, width: first.width, rank: first.rank, rows: parts.length };
  }
  return out;
}
