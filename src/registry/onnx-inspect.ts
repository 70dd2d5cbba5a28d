import { ValidationError } from '../core/errors.js';
import { assertSelfContained } from './onnx-guard.js';
import { openOnnxInSandbox } from './onnx-sandbox.js';
import type { Signature } from './registry.schema.js';

/**
 * Opens an ONNX model in onnxruntime (the runtime serving will use) and reads its inputs and outputs.
 * A file onnxruntime cannot open is refused here, at registration, rather than at deployment; so is one
 * that needs more memory to open than its allowance (onnx-sandbox.ts), or takes too long.
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
  const verdict = await openOnnxInSandbox(bytes);
  switch (verdict.kind) {
    case 'opened':
      return { inputs: verdict.inputs, outputs: verdict.outputs };
    case 'refused':
      throw new ValidationError(
        `${field}: not a valid ONNX model (onnxruntime could not open it: ${verdict.reason})`,
        { field },
      );
    case 'out-of-memory':
      throw new ValidationError(
        `${field}: the model needs more than ${verdict.allowanceMiB} MiB of memory to open (onnxruntime ran out folding its constants); untrusted models are opened under that cap`,
        { field, limitMiB: verdict.allowanceMiB },
      );
    case 'timed-out':
      throw new ValidationError(
        `${field}: the model took longer than ${Math.round(verdict.afterMs / 1000)} s to open; untrusted models are opened under that limit`,
        { field },
      );
  }
}
