import type { HttpTransport } from './http-transport.js';

/** The Data part of SextantApi (placeholder until that work lands). */
export type DataApi = Record<never, never>;

/** DataApi over HTTP. */
export function dataHttpApi(_t: HttpTransport): DataApi {
  return {};
}
