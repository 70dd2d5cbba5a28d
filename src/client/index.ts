export type { RunSearchQuery } from '../tracking/tracking.schema.js';
export type { Checkpoint, SextantApi } from './api.js';
/** The typed HTTP client of Sextant's native API. */
export { createHttpClient, type HttpClientOptions } from './http-client.js';
