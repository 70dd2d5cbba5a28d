import type { ReaperAction, SavingsReport } from '../cost/reaper/reaper.schema.js';
import type { HttpTransport } from './http-transport.js';

/** A window [from, to) in ISO; by default the last 30 days. */
export interface ReaperWindow {
  from?: string;
  to?: string;
}

/** The Reaper part of SextantApi: what the idle reaper did and saved. */
export interface ReaperApi {
  actions(w?: ReaperWindow): Promise<ReaperAction[]>;
  savings(w?: ReaperWindow): Promise<SavingsReport>;
}

/** ReaperApi over HTTP. */
export function reaperHttpApi(t: HttpTransport): ReaperApi {
  const query = (w: ReaperWindow) => ({ ...w }) as Record<string, unknown>;
  return {
    actions: async (w = {}) =>
      (await t.call<{ actions: ReaperAction[] }>('GET', '/api/v1/reaper/actions', { query: query(w) }))
        .actions,
    savings: (w = {}) => t.call('GET', '/api/v1/reaper/savings', { query: query(w) }),
  };
}
