import type { HttpTransport } from './http-transport.js';

/** The DataQuality part of SextantApi (placeholder until that work lands). */
export type DataQualityApi = Record<never, never>;

/** DataQualityApi over HTTP. */
export function dataQualityHttpApi(_t: HttpTransport): DataQualityApi {
  return {};
}
