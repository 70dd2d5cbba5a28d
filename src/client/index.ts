export type { Checkpoint, RunSearchQuery, SextantApi } from './api.js';
/** The typed HTTP client of Sextant's native API. */
export { createHttpClient, type HttpClientOptions } from './http-client.js';
