import type { InferenceSession } from 'onnxruntime-node';
import { ValidationError } from '../core/errors.js';
import { lazyRequire } from '../core/lazy-require.js';
import { assertSelfContained } from './onnx-guard.js';
import type { Signature } from './registry.schema.js';

const ort = lazyRequire<typeof import('onnxruntime-node')>('onnxruntime-node');

/**
 * Opens an ONNX model in onnxruntime (the runtime serving will use) and reads its inputs and outputs.
 * A file onnxruntime cannot open is refused here, at registration, rather than at deployment.
 */
export async function inspectOnnx(
  bytes: Uint8Array,
  field: string,
): Promise<Pick<Signature, 'inputs' | 'outputs'>> {
  try {
    // Before onnxruntime opens it: a tensor with external data would make it read a local file.
    assertSelfContained(bytes);
  } catch (err) {
    throw new ValidationError(`${field}: not a valid ONNX model (${(err as Error).message})`, { field });
  }
  let session: InferenceSession;
  try {
    session = await ort().InferenceSession.create(bytes);
  } catch (err) {
    const why = String((err as Error).message ?? err)
      .split('\n')[0]
      ?.slice(0, 300);
    throw new ValidationError(`${field}: not a valid ONNX model (onnxruntime could not open it: ${why})`, {
      field,
    });
  }
  try {
    const spec = (m: InferenceSession.ValueMetadata) =>
      m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor' };
    return { inputs: session.inputMetadata.map(spec), outputs: session.outputMetadata.map(spec) };
  } finally {
    await session.release();
  }
}
