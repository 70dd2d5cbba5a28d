import type { HttpTransport } from './http-transport.js';

/** The Lineage part of SextantApi (placeholder until that work lands). */
export type LineageApi = Record<never, never>;

/** LineageApi over HTTP. */
export function lineageHttpApi(_t: HttpTransport): LineageApi {
  return {};
}
