import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import type { FeatureEncoding } from './feature-encoding.js';
import { encodedWidth, encodeRecords } from './feature-encoding.js';
import type { ValueTrees } from './gbdt-ensemble.js';
import type { LinearCore } from './linear.trainer.js';
import { decodeModel } from './onnx-proto.js';
import type { Task } from './trainer.types.js';

/*
 * What an explainer needs to know about a built-in model, written into the ONNX file as the metadata
 * prop `sextant.explain` at export: the preprocessing (encoding, whether numerics are standardised),
 * the task, and the core (linear weights over the encoded columns, or value trees). Explanations of
 * our own models are then exact (linear) or TreeSHAP; foreign files have no such prop.
 */

/** The ONNX metadata key the trainers write. */
export const EXPLAIN_METADATA_KEY = 'sextant.explain';

export type InternalsCore =
  | { kind: 'linear'; intercept: number; weights: number[] }
  | {
      kind: 'trees';
      base: number;
      /** Pre-order nodes; left[k] < 0 marks a leaf. Split: encoded column <= threshold goes left. */
      trees: { column: number[]; threshold: number[]; left: number[]; right: number[]; value: number[] }[];
    };

/** A built-in model's internals, as read back from its ONNX file. */
export interface ModelInternals {
  task: Task;
  /** The graph's inputs (the original features) in order. */
  inputs: string[];
  encoding: FeatureEncoding;
  /** Numerics enter the core as (x - mean) / std (linear) or as they are (trees). */
  standardize: boolean;
  core: InternalsCore;
}

/** The metadata value for a linear core: compact JSON, the same bytes for the same model. */
export function linearInternalsJson(
  task: Task,
  encoding: FeatureEncoding,
  core: LinearCore,
  standardize = true,
): string {
  return JSON.stringify({
    v: 1,
    task,
    standardize,
    encoding,
    core: { kind: 'linear', intercept: core.intercept, weights: Array.from(core.weights) },
  });
}

/** The metadata value for a tree ensemble (internal nodes' values are not needed and written as 0). */
export function treeInternalsJson(task: Task, encoding: FeatureEncoding, vt: ValueTrees): string {
  return JSON.stringify({
    v: 1,
    task,
    standardize: false,
    encoding,
    core: {
      kind: 'trees',
      base: vt.base,
      trees: vt.trees.map((t) => ({
        column: Array.from(t.column),
        threshold: Array.from(t.threshold),
        left: Array.from(t.left),
        right: Array.from(t.right),
        value: Array.from(t.value, (v, k) => (t.left[k]! < 0 ? v : 0)),
      })),
    },
  });
}

const finite = z.number().finite();
const name = z.string().min(1).max(1000);
const MAX_NODES = 5_000_000;
/** Explainers walk trees recursively; the trainer's max_depth is at most 20. */
export const MAX_TREE_DEPTH = 64;

const internalsSchema = z.object({
  v: z.literal(1),
  task: z.enum(['classification', 'regression']),
  standardize: z.boolean(),
  encoding: z.object({
    numeric: z.array(z.object({ name, mean: finite, std: finite.positive() })).max(100_000),
    categorical: z
      .array(z.object({ name, categories: z.array(z.string().max(10_000)).max(100_000) }))
      .max(100_000),
  }),
  core: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('linear'), intercept: finite, weights: z.array(finite) }),
    z.object({
      kind: z.literal('trees'),
      base: finite,
      trees: z.array(
        z.object({
          column: z.array(z.number().int()),
          threshold: z.array(finite),
          left: z.array(z.number().int()),
          right: z.array(z.number().int()),
          value: z.array(finite),
        }),
      ),
    }),
  ]),
});

/**
 * The internals of a model Sextant trained, read from the ONNX metadata; undefined for a foreign
 * model, a file from before explanations, or bytes that are not ONNX at all. A file that carries the
 * prop but whose content is malformed or inconsistent is a ValidationError (never a crash).
 */
export function readModelInternals(bytes: Uint8Array): ModelInternals | undefined {
  let model: ReturnType<typeof decodeModel>;
  try {
    model = decodeModel(bytes);
  } catch {
    return undefined;
  }
  const props = Array.isArray(model.metadataProps) ? model.metadataProps : [];
  const prop = props.find((p) => p?.key === EXPLAIN_METADATA_KEY);
  if (prop === undefined) return undefined;
  const bad = (why: string) =>
    new ValidationError(`the model's ${EXPLAIN_METADATA_KEY} metadata is malformed: ${why}`, {
      field: 'model',
    });
  let json: unknown;
  try {
    json = JSON.parse(typeof prop.value === 'string' ? prop.value : '');
  } catch {
    throw bad('not JSON');
  }
  const parsed = internalsSchema.safeParse(json);
  if (!parsed.success) throw bad(parsed.error.issues[0]?.message ?? 'unexpected shape');
  const { task, standardize, encoding, core } = parsed.data;
  const inputs = (model.graph?.input ?? []).map((i) => i?.name ?? '');
  const names = [...encoding.numeric.map((c) => c.name), ...encoding.categorical.map((c) => c.name)];
  if (new Set(names).size !== names.length) throw bad('a feature is named twice');
  const graphInputs = new Set(inputs);
  for (const n of names) if (!graphInputs.has(n)) throw bad(`feature '${n}' is not a graph input`);
  const width = encodedWidth(encoding);
  if (core.kind === 'linear') {
    if (core.weights.length !== width) throw bad(`${core.weights.length} weights for ${width} columns`);
  } else {
    let total = 0;
    core.trees.forEach((t, i) => {
      const m = t.left.length;
      total += m;
      if (total > MAX_NODES) throw bad(`more than ${MAX_NODES} nodes`);
      const lengths = [t.right.length, t.column.length, t.threshold.length, t.value.length];
      if (m === 0 || lengths.some((len) => len !== m)) throw bad(`tree ${i}: node arrays differ in length`);
      const depth = new Int32Array(m);
      for (let k = 0; k < m; k++) {
        const l = t.left[k]!;
        const r = t.right[k]!;
        if (l < 0) continue;
        // Children after their parent (pre-order): every walk ends, no cycles.
        if (l <= k || r <= k || l >= m || r >= m) throw bad(`tree ${i}: node ${k} has a bad child`);
        const c = t.column[k]!;
        if (c < 0 || c >= width) throw bad(`tree ${i}: node ${k} splits on a column out of range`);
        // One parent per node: a tree, not a graph whose paths could multiply.
        if (depth[l] !== 0 || depth[r] !== 0 || l === r) throw bad(`tree ${i}: node ${k} shares a child`);
        depth[l] = depth[k]! + 1;
        depth[r] = depth[k]! + 1;
        if (depth[k]! + 1 > MAX_TREE_DEPTH) throw bad(`tree ${i} is deeper than ${MAX_TREE_DEPTH}`);
      }
    });
  }
  const features = new Set(names);
  return { task, inputs: inputs.filter((n) => features.has(n)), standardize, encoding, core };
}

/** Which original feature (index into internalsFeatures) each encoded column belongs to. */
export function columnFeatures(internals: ModelInternals): Int32Array {
  const { numeric, categorical } = internals.encoding;
  const out = new Int32Array(encodedWidth(internals.encoding));
  let at = 0;
  numeric.forEach((_, j) => {
    out[at++] = j;
  });
  categorical.forEach((c, j) => {
    for (let k = 0; k < c.categories.length; k++) out[at++] = numeric.length + j;
  });
  return out;
}

/** The original features in the order columnFeatures numbers them: numerics, then categoricals. */
export function internalsFeatures(internals: ModelInternals): string[] {
  return [
    ...internals.encoding.numeric.map((c) => c.name),
    ...internals.encoding.categorical.map((c) => c.name),
  ];
}

/** Rows as the core sees them, row-major: data[i * width + c]. */
export interface EncodedMatrix {
  n: number;
  width: number;
  data: Float64Array;
}

/**
 * The encoded matrix the core sees: numerics as float32 after imputation (standardised for a
 * linear core), each categorical as its one-hot block. ValidationError on a value of the wrong type.
 */
export function encodeForCore(internals: ModelInternals, rows: Record<string, unknown>[]): EncodedMatrix {
  const enc = internals.encoding;
  const x = encodeRecords(rows, enc);
  const width = encodedWidth(enc);
  const out = new Float64Array(x.n * width);
  const k = enc.numeric.length;
  for (let j = 0; j < k; j++) {
    const col = x.numeric[j]!;
    const { mean, std } = enc.numeric[j]!;
    for (let i = 0; i < x.n; i++)
      out[i * width + j] = internals.standardize ? (col[i]! - mean) / std : col[i]!;
  }
  let at = k;
  enc.categorical.forEach((c, j) => {
    const codes = x.codes[j]!;
    for (let i = 0; i < x.n; i++) if (codes[i]! >= 0) out[i * width + at + codes[i]!] = 1;
    at += c.categories.length;
  });
  return { n: x.n, width, data: out };
}

/** Margins (log-odds for a classifier, the value for a regressor) in double, from encoded rows. */
export function coreMargins(internals: ModelInternals, x: EncodedMatrix): Float64Array {
  const { n, width, data: encoded } = x;
  const out = new Float64Array(n);
  const core = internals.core;
  for (let i = 0; i < n; i++) {
    const o = i * width;
    if (core.kind === 'linear') {
      let s = 0;
      for (let c = 0; c < width; c++) s += encoded[o + c]! * core.weights[c]!;
      out[i] = s + core.intercept;
    } else {
      let s = 0;
      for (const t of core.trees) {
        let node = 0;
        while (t.left[node]! >= 0) {
          node = encoded[o + t.column[node]!]! <= t.threshold[node]! ? t.left[node]! : t.right[node]!;
        }
        s += t.value[node]!;
      }
      out[i] = s + core.base;
    }
  }
  return out;
}
