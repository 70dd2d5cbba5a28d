import type * as Ort from 'onnxruntime-node';
import { ValidationError } from '../../core/errors.js';
import { lazyRequire } from '../../core/lazy-require.js';
import { type OnnxSession, openOnnxSession } from '../../core/onnx-session.js';
import { tensorFeatureNames } from '../feature-columns.js';
import { toCategoryInput, toFloatInput } from './training-data.js';

const ort = lazyRequire<typeof Ort>('onnxruntime-node');

type Session = OnnxSession;

/** An ONNX model opened for scoring records, and the features it reads from them. */
export interface OnnxPredictor {
  /** The features in input order: one per input, or the columns of a single float tensor [N, D]. */
  features: string[];
  /** P(positive) for a classifier / the value of a regressor, per record keyed by `features`. */
  predict(rows: Record<string, unknown>[]): Promise<Float64Array>;
  release(): Promise<void>;
}

/**
 * Opens an ONNX model for scoring raw feature records: one input per feature ([N, 1] or [N]), or a
 * single float tensor [N, D] (a model from elsewhere, e.g. skl2onnx) whose columns are `declared`
 * (signature names) when there are D of them, else f0..fD-1. Predictions are P(positive) for a
 * classifier (the last column of 'probabilities'), every class's probability row-major [N, K]
 * when 'probabilities' has K > 2 columns, or the value of a regressor ('variable', else the
 * first float output): the semantics of FittedModel.predict.
 */
export async function openOnnxPredictor(
  bytes: Uint8Array,
  opts: { declared?: readonly string[]; label?: string } = {},
): Promise<OnnxPredictor> {
  const session: Session = await openOnnxSession(bytes, opts.label ? { label: opts.label } : {});
  try {
    const tensor = wideInput(session);
    const features = tensor
      ? tensorFeatureNames(tensor.width, opts.declared)
      : session.inputMetadata.map((m) => m.name);
    const outputName = pickOutput(session);
    return {
      features,
      async predict(rows) {
        if (rows.length === 0) return new Float64Array(0);
        const feeds: Record<string, InstanceType<typeof Ort.Tensor>> = tensor
          ? { [tensor.name]: matrixTensor(tensor, features, rows) }
          : Object.fromEntries(session.inputMetadata.map((meta) => [meta.name, inputTensor(meta, rows)]));
        const result = await session.run(feeds, [outputName]);
        const out = result[outputName]!;
        const data = out.data as ArrayLike<number | bigint>;
        const width = out.dims.length === 2 ? Number(out.dims[1]) : 1;
        if (PROBABILITY_NAMES.has(outputName) && width > 2) return Float64Array.from(data, Number);
        const column = PROBABILITY_NAMES.has(outputName) || width === 2 ? width - 1 : 0;
        const values = new Float64Array(rows.length);
        for (let i = 0; i < rows.length; i++) values[i] = Number(data[i * width + column]);
        return values;
      },
      release: () => session.release(),
    };
  } catch (err) {
    await session.release().catch(() => {});
    throw err;
  }
}

/** Runs an ONNX model on raw feature records (see openOnnxPredictor) and releases it. */
export async function predictOnnx(
  bytes: Uint8Array,
  rows: Record<string, unknown>[],
  opts: { declared?: readonly string[] } = {},
): Promise<Float64Array> {
  const predictor = await openOnnxPredictor(bytes, opts);
  try {
    return await predictor.predict(rows);
  } finally {
    await predictor.release();
  }
}

/** Loads the bytes in onnxruntime-node and compares its predictions with `expected`. */
export async function checkOnnx(
  bytes: Uint8Array,
  rows: Record<string, unknown>[],
  expected: Float64Array,
): Promise<{ maxAbsDiff: number; maxRelDiff: number }> {
  const got = await predictOnnx(bytes, rows);
  if (got.length !== expected.length) {
    throw new ValidationError(`expected ${expected.length} predictions, the ONNX model gave ${got.length}`, {
      field: 'expected',
    });
  }
  let maxAbsDiff = 0;
  let maxRelDiff = 0;
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs(got[i]! - expected[i]!);
    // NaN must not hide behind max(): a NaN prediction on either side is an infinite difference.
    const d = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff;
    maxAbsDiff = Math.max(maxAbsDiff, d);
    maxRelDiff = Math.max(maxRelDiff, d / Math.max(1, Math.abs(expected[i]!)));
  }
  return { maxAbsDiff, maxRelDiff };
}

interface WideInput {
  name: string;
  type: 'float32' | 'float64';
  width: number;
}

/** The model's single float input [N, D] with D > 1, if that is its shape. */
function wideInput(session: Session): WideInput | undefined {
  if (session.inputMetadata.length !== 1) return undefined;
  const meta = session.inputMetadata[0]!;
  if (!meta.isTensor || meta.shape.length !== 2) return undefined;
  const width = meta.shape[1];
  if (typeof width !== 'number' || width === 1) return undefined;
  if (meta.type !== 'float32' && meta.type !== 'float64') {
    throw new ValidationError(
      `model input '${meta.name}' is a ${meta.type} tensor of ${width} columns; only float tensors can be fed from records`,
      { field: meta.name },
    );
  }
  return { name: meta.name, type: meta.type, width };
}

/** The [N, D] matrix of a wide input, column j from each record's features[j]. */
function matrixTensor(
  input: WideInput,
  features: readonly string[],
  rows: Record<string, unknown>[],
): InstanceType<typeof Ort.Tensor> {
  const d = input.width;
  const a = input.type === 'float32' ? new Float32Array(rows.length * d) : new Float64Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    for (let j = 0; j < d; j++) a[i * d + j] = toFloatInput(row[features[j]!], features[j]!);
  }
  return new (ort().Tensor)(input.type, a, [rows.length, d]);
}

function inputTensor(
  meta: Session['inputMetadata'][number],
  rows: Record<string, unknown>[],
): InstanceType<typeof Ort.Tensor> {
  const name = meta.name;
  if (!meta.isTensor) throw new ValidationError(`model input '${name}' is not a tensor`, { field: name });
  const width = meta.shape.length >= 2 ? meta.shape[1] : 1;
  if (meta.shape.length > 2 || (typeof width === 'number' && width !== 1)) {
    throw new ValidationError(
      `model input '${name}' takes ${String(width)} columns at once; records feed one input per feature or a single float tensor [N, D]`,
      { field: name },
    );
  }
  const dims = meta.shape.length === 2 ? [rows.length, 1] : [rows.length];
  switch (meta.type) {
    case 'float32':
      return new (ort().Tensor)(
        'float32',
        Float32Array.from(rows, (r) => toFloatInput(r[name], name)),
        dims,
      );
    case 'float64':
      return new (ort().Tensor)(
        'float64',
        Float64Array.from(rows, (r) => {
          const v = r[name];
          return typeof v === 'number' ? v : toFloatInput(v, name);
        }),
        dims,
      );
    case 'int64':
      return new (ort().Tensor)(
        'int64',
        BigInt64Array.from(rows, (r) => BigInt(Math.round(toFloatInput(r[name], name) || 0))),
        dims,
      );
    case 'int32':
      return new (ort().Tensor)(
        'int32',
        Int32Array.from(rows, (r) => Math.round(toFloatInput(r[name], name) || 0)),
        dims,
      );
    case 'string':
      return new (ort().Tensor)(
        'string',
        rows.map((r) => toCategoryInput(r[name])),
        dims,
      );
    default:
      throw new ValidationError(`model input '${name}' has type ${meta.type}, which records cannot feed`, {
        field: name,
      });
  }
}

/** Output names exporters give class probabilities (skl2onnx: 'probabilities'; onnxmltools: 'output_probability'). */
const PROBABILITY_NAMES = new Set(['probabilities', 'output_probability', 'probability', 'probas']);

function pickOutput(session: Session): string {
  const tensors = session.outputMetadata.filter((m) => m.isTensor);
  const named = (n: string) => tensors.find((m) => m.name === n);
  const zipped = session.outputMetadata.find((m) => !m.isTensor && PROBABILITY_NAMES.has(m.name));
  if (zipped !== undefined && !tensors.some((m) => PROBABILITY_NAMES.has(m.name))) {
    // onnxruntime-node answers "Non tensor type is temporarily not supported" for seq(map) outputs.
    throw new ValidationError(
      `the model's output '${zipped.name}' is a sequence of maps (skl2onnx's ZipMap), which onnxruntime-node cannot read; convert the model with options={'zipmap': False} to get a float tensor of probabilities`,
      { field: 'model', output: zipped.name },
    );
  }
  const chosen =
    [...PROBABILITY_NAMES].map(named).find((m) => m !== undefined) ??
    named('variable') ??
    tensors.find((m) => m.isTensor && (m.type === 'float32' || m.type === 'float64'));
  if (chosen === undefined) {
    throw new ValidationError('the model has no float tensor output to read predictions from', {
      field: 'model',
    });
  }
  return chosen.name;
}
