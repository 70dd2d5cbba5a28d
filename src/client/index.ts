export type { RunSearchQuery } from '../tracking/tracking.schema.js';
export type { Checkpoint, SextantApi } from './api.js';
/** The typed HTTP client of Sextant's native API. */
export { artifactUrl, createHttpClient, type HttpClientOptions } from './http-client.js';
/** The transport a domain's HTTP client is built on. */
export { createHttpTransport, type HttpInit, type HttpTransport } from './http-transport.js';
