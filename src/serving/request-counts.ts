import type { RuntimeCountColumns } from './deployment-runtime.repo.js';
import type { RequestCounts } from './serving.schema.js';

/** No requests yet. */
export const noRequests = (): RequestCounts => ({ ok: 0, failed: 0, byCode: {} });

/** A runtime's request tally: counted in memory, written by the heartbeat. */
export function createRequestTally() {
  const c = noRequests();
  return {
    answered(): void {
      c.ok++;
    },
    failed(code: string): void {
      c.failed++;
      c.byCode[code] = (c.byCode[code] ?? 0) + 1;
    },
    /** A copy, so a beat in flight never sees it change. */
    counts: (): RequestCounts => ({ ok: c.ok, failed: c.failed, byCode: { ...c.byCode } }),
  };
}

/** a + b: a host's counts over the runtimes it replaced (a reload) and the current one. */
export function addCounts(a: RequestCounts, b: RequestCounts): RequestCounts {
  const byCode = { ...a.byCode };
  for (const [code, n] of Object.entries(b.byCode)) byCode[code] = (byCode[code] ?? 0) + n;
  return { ok: a.ok + b.ok, failed: a.failed + b.failed, byCode };
}

/** The heartbeat row's columns for these counts. */
export function countColumns(c: RequestCounts): RuntimeCountColumns {
  return { requests_ok: c.ok, requests_failed: c.failed, errors_by_code: JSON.stringify(c.byCode) };
}
