import type { Actor, ModelVersion, RegisterEndpointBody } from '../registry/index.js';
import type { Services } from './services.js';

/*
 * Registering an external model joins three domains: the data version it was trained on (a dataset
 * ref resolved to its id), serving's gateway (which reaches the server for its identity) and the
 * registry (which records the version). The API route and the local CLI both call this.
 */
export async function registerEndpointVersion(
  s: Pick<Services, 'data' | 'serving'>,
  input: { actor: Actor; model: string; body: RegisterEndpointBody },
): Promise<ModelVersion> {
  const datasetVersionIds =
    input.body.dataset === undefined ? [] : [(await s.data.versions.resolve(input.body.dataset)).id];
  return s.serving.registerEndpoint({ ...input, datasetVersionIds });
}
