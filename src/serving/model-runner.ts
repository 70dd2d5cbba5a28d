import type { EndpointResilience, ModelVersion } from '../registry/index.js';
import { openGatewayModel } from './gateway/index.js';
import { openServingModel, type ServingModel } from './model/index.js';

/**
 * The model runner seam: how a version becomes a ServingModel. ONNX versions run in onnxruntime in
 * this process; external ones ('endpoint') run in their own server behind the gateway. Everything
 * that serves, scores or explains opens versions through here.
 */
export function openModelFor(
  bytes: Uint8Array,
  version: ModelVersion,
  opts: ModelRunnerOptions = {},
): Promise<ServingModel> {
  return version.format === 'endpoint'
    ? openGatewayModel(bytes, version, opts.resilience ? { resilience: opts.resilience } : {})
    : openServingModel(bytes, version);
}

export interface ModelRunnerOptions {
  /** External models: settings that replace the version's own (a deployment's override). */
  resilience?: Partial<EndpointResilience> | null | undefined;
}

/** True for the formats a deployment can serve. */
export function isServableFormat(format: ModelVersion['format']): boolean {
  return format === 'onnx' || format === 'endpoint';
}
