import type * as Ort from 'onnxruntime-node';
import { ValidationError } from '../../core/errors.js';
import { lazyRequire } from '../../core/lazy-require.js';
import { type OnnxSession, openOnnxSession } from '../../core/onnx-session.js';
import { toCategoryInput, toFloatInput } from './training-data.js';

const ort = lazyRequire<typeof Ort>('onnxruntime-node');

type Session = OnnxSession;

/**
 * Runs an ONNX model on raw feature records, one input per feature ([N, 1] or [N]), and returns
 * P(positive) for a classifier (column 1 of 'probabilities'), every class's probability row-major
 * [N, K] when 'probabilities' has K > 2 columns, or the value of a regressor ('variable', else the
 * first float output): the semantics of FittedModel.predict.
 */
export async function predictOnnx(bytes: Uint8Array, rows: Record<string, unknown>[]): Promise<Float64Array> {
  const session: Session = await openOnnxSession(bytes);
  try {
    if (rows.length === 0) return new Float64Array(0);
    const feeds: Record<string, InstanceType<typeof Ort.Tensor>> = {};
    for (const meta of session.inputMetadata) feeds[meta.name] = inputTensor(meta, rows);
    const outputName = pickOutput(session);
    const result = await session.run(feeds, [outputName]);
    const out = result[outputName]!;
    const data = out.data as ArrayLike<number | bigint>;
    const width = out.dims.length === 2 ? Number(out.dims[1]) : 1;
    if (outputName === 'probabilities' && width > 2) return Float64Array.from(data, Number);
    const column = outputName === 'probabilities' || width === 2 ? width - 1 : 0;
    const values = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) values[i] = Number(data[i * width + column]);
    return values;
  } finally {
    await session.release();
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

function inputTensor(
  meta: Session['inputMetadata'][number],
  rows: Record<string, unknown>[],
): InstanceType<typeof Ort.Tensor> {
  const name = meta.name;
  if (!meta.isTensor) throw new ValidationError(`model input '${name}' is not a tensor`, { field: name });
  const width = meta.shape.length >= 2 ? meta.shape[1] : 1;
  if (meta.shape.length > 2 || (typeof width === 'number' && width !== 1)) {
    throw new ValidationError(
      `model input '${name}' takes ${String(width)} columns at once; only models with one input per feature can be fed records`,
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

function pickOutput(session: Session): string {
  const tensors = session.outputMetadata.filter((m) => m.isTensor);
  const named = (n: string) => tensors.find((m) => m.name === n);
  const chosen =
    named('probabilities') ??
    named('variable') ??
    tensors.find((m) => m.isTensor && (m.type === 'float32' || m.type === 'float64'));
  if (chosen === undefined) {
    throw new ValidationError('the model has no float tensor output to read predictions from', {
      field: 'model',
    });
  }
  return chosen.name;
}
