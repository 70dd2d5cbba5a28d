import { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import type { FeatureEncoding } from './feature-encoding.js';
import { encodedWidth, encodeRecords } from './feature-encoding.js';
import type { ValueTrees } from './gbdt-ensemble.js';
import type { LinearCore } from './linear.trainer.js';
import { decodeModel } from './onnx-proto.js';
import type { SoftmaxCore } from './softmax.trainer.js';
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
  | {
      kind: 'linear';
      intercept: number;
      weights: number[];
      /** Multiclass (K > 2): one intercept per class; weights are then K blocks of the encoded width. */
      intercepts?: number[];
    }
  | {
      kind: 'trees';
      base: number;
      /** Multiclass (K > 2): each class's start margin; tree j belongs to class j % K. */
      classBases?: number[];
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

/** The metadata value for a softmax (multiclass linear) core: K weight blocks and K intercepts. */
export function softmaxInternalsJson(encoding: FeatureEncoding, core: SoftmaxCore): string {
  return JSON.stringify({
    v: 1,
    task: 'classification',
    standardize: true,
    encoding,
    core: {
      kind: 'linear',
      intercept: 0,
      weights: core.weights.flatMap((w) => Array.from(w)),
      intercepts: Array.from(core.intercepts),
    },
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
      ...(vt.classBases ? { classBases: vt.classBases } : {}),
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
    z.object({
      kind: z.literal('linear'),
      intercept: finite,
      weights: z.array(finite),
      intercepts: z.array(finite).min(3).max(100).optional(),
    }),
    z.object({
      kind: z.literal('trees'),
      base: finite,
      classBases: z.array(finite).min(3).max(100).optional(),
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
    const blocks = core.intercepts?.length ?? 1;
    if (core.weights.length !== width * blocks)
      throw bad(`${core.weights.length} weights for ${width} columns x ${blocks} classes`);
  } else {
    if (core.classBases && core.trees.length % core.classBases.length !== 0)
      throw bad(`${core.trees.length} trees is not a whole number of rounds of ${core.classBases.length}`);
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

/**
 * Margins (log-odds for a classifier, the value for a regressor) in double, from encoded rows; for
 * a multiclass core, row-major [N, K] class margins.
 */
export function coreMargins(internals: ModelInternals, x: EncodedMatrix): Float64Array {
  const kc = internalsClassCount(internals);
  if (kc > 1) {
    const out = new Float64Array(x.n * kc);
    for (let k = 0; k < kc; k++) {
      const m = coreMargins(classInternals(internals, k), x);
      for (let i = 0; i < x.n; i++) out[i * kc + k] = m[i]!;
    }
    return out;
  }
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

/** Classes the core scores: K for a multiclass core, 1 for a binary classifier or a regressor. */
export function internalsClassCount(internals: ModelInternals): number {
  const core = internals.core;
  return (core.kind === 'linear' ? core.intercepts?.length : core.classBases?.length) ?? 1;
}

/**
 * Class k's part of a multiclass model as a single-margin model (its weights and intercept, or its
 * trees and start margin): explainers run on it unchanged and explain class k's margin.
 */
export function classInternals(internals: ModelInternals, k: number): ModelInternals {
  const core = internals.core;
  const kc = internalsClassCount(internals);
  if (kc === 1) return internals;
  if (core.kind === 'linear') {
    const width = core.weights.length / kc;
    return {
      ...internals,
      core: {
        kind: 'linear',
        intercept: core.intercepts![k]!,
        weights: core.weights.slice(k * width, (k + 1) * width),
      },
    };
  }
  return {
    ...internals,
    core: { kind: 'trees', base: core.classBases![k]!, trees: core.trees.filter((_, j) => j % kc === k) },
  };
}
