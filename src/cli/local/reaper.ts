import type { Services } from '../../app/index.js';
import type { ReaperApi, ReaperWindow } from '../../client/reaper-api.js';
import { ValidationError } from '../../core/errors.js';

const DAY_MS = 86_400_000;

function windowOf(w: ReaperWindow, now: number): { from: number; to: number } {
  const at = (v: string, field: string) => {
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) throw new ValidationError(`${field}: '${v}' is not an ISO time`, { field });
    return ms;
  };
  const to = w.to ? at(w.to, 'to') : now;
  return { from: w.from ? at(w.from, 'from') : to - 30 * DAY_MS, to };
}

/** ReaperApi served in-process from a local workspace. */
export function reaperLocalApi(s: Services): ReaperApi {
  return {
    actions: (w = {}) => s.reaper.list(windowOf(w, s.clock.now())),
    savings: (w = {}) => s.reaper.savings(windowOf(w, s.clock.now())),
  };
}
