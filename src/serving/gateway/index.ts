/** The gateway: external model servers (MLflow, OIP, plain JSON) served as ServingModels. */
export { openGatewayModel, type ProbedEndpoint, probeEndpoint, readEndpointSpec } from './gateway-model.js';
export { readPointer } from './protocols.js';
export { type BreakerState, createUpstreamClient, type UpstreamClient } from './upstream-client.js';
