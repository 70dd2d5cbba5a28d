import type { ModelVersion } from '../registry/index.js';
import { openGatewayModel } from './gateway/index.js';
import { openServingModel, type ServingModel } from './model/index.js';

/**
 * The model runner seam: how a version becomes a ServingModel. ONNX versions run in onnxruntime in
 * this process; external ones ('endpoint') run in their own server behind the gateway. Everything
 * that serves, scores or explains opens versions through here.
 */
export function openModelFor(bytes: Uint8Array, version: ModelVersion): Promise<ServingModel> {
  return version.format === 'endpoint' ? openGatewayModel(bytes, version) : openServingModel(bytes, version);
}

/** True for the formats a deployment can serve. */
export function isServableFormat(format: ModelVersion['format']): boolean {
  return format === 'onnx' || format === 'endpoint';
}
