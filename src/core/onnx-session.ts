import type * as Ort from 'onnxruntime-node';
import { ValidationError } from './errors.js';
import { lazyRequire } from './lazy-require.js';
import { assertSelfContained } from './onnx-guard.js';

/*
 * The one place an ONNX model is opened in this process (serving, evaluation, batch scoring). The file
 * is checked before onnxruntime sees it: a tensor with external data would make onnxruntime read a
 * local file named by the model. Registration opens untrusted files in a memory-capped child process
 * (registry/onnx-sandbox.ts) and runs the same check first. This module is not re-exported from
 * core/index.ts, and it loads onnxruntime on first use: only commands that score pay for it.
 */

const ort = lazyRequire<typeof Ort>('onnxruntime-node');

export type OnnxSession = Awaited<ReturnType<typeof Ort.InferenceSession.create>>;

export interface OpenOnnxOptions {
  /** Names the model in errors, e.g. 'credit@3' (default 'model'). */
  label?: string;
  intraOpNumThreads?: number;
  /**
   * Whether onnxruntime's intra-op threads spin while they wait for work (its default: yes). A server
   * says no: between its runs the event loop has the request work to do, and a spinning thread burns
   * a core of a small machine doing nothing (half the CPU of a serving process on the tree model).
   */
  spinning?: boolean;
}

/** The first line of an error's message, trimmed to a readable length. */
function firstLine(err: unknown): string {
  return (
    String((err as Error)?.message ?? err)
      .split('\n')[0]
      ?.slice(0, 300) ?? ''
  );
}

/**
 * Opens ONNX bytes in onnxruntime-node: ValidationError (field 'model') for an empty file, a file whose
 * tensors read external data, or one onnxruntime cannot load. The caller releases the session.
 */
export async function openOnnxSession(
  bytes: Uint8Array,
  options: OpenOnnxOptions = {},
): Promise<OnnxSession> {
  const label = options.label ?? 'model';
  if (bytes.byteLength === 0)
    throw new ValidationError(`${label}: the model file is empty`, { field: 'model' });
  try {
    assertSelfContained(bytes);
  } catch (err) {
    throw new ValidationError(`${label}: ${(err as Error).message}`, { field: 'model' });
  }
  try {
    return await ort().InferenceSession.create(bytes, {
      logSeverityLevel: 3,
      ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
      ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    });
  } catch (err) {
    throw new ValidationError(`${label}: not a model onnxruntime can load (${firstLine(err)})`, {
      field: 'model',
    });
  }
}
