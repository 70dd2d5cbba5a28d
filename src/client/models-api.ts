import type { HttpTransport } from './http-transport.js';

/** The Models part of SextantApi (placeholder until that work lands). */
export type ModelsApi = Record<never, never>;

/** ModelsApi over HTTP. */
export function modelsHttpApi(_t: HttpTransport): ModelsApi {
  return {};
}
