import type { AuditLog } from '../../audit/index.js';
import { type Clock, toIso } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { type Db, inTransaction } from '../../store/index.js';
import type { ReaperAction, ReaperActionKind, SavingsReport } from './reaper.schema.js';
import * as repo from './reaper-action.repo.js';
import type { ReaperPolicy } from './reaper-policy.js';

/*
 * The reaper's record: every unload, wake, worker exit and GPU flag is a row and an audit entry, in
 * one transaction; the savings report adds them up. Acting is elsewhere (the deployment host unloads,
 * the worker exits, the GPU watch flags); this is what they tell.
 */

const HOUR_MS = 3_600_000;
/** How far before a report's window an unload may lie and still count (a deployment unloaded for long). */
const LOOKBACK_MS = 31 * 24 * HOUR_MS;

export interface ReaperDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  policy: ReaperPolicy;
}

const AUDIT_ACTION: Record<ReaperActionKind, string> = {
  worker_exit: 'reaper.worker_exit',
  deployment_unload: 'reaper.deployment_unload',
  deployment_wake: 'reaper.deployment_wake',
  gpu_idle: 'reaper.gpu_idle',
};

export function createReaper(deps: ReaperDeps) {
  const { db, audit, clock, policy } = deps;

  /** Records one action with its audit entry. */
  async function record(input: {
    kind: ReaperActionKind;
    target: string;
    idleMs?: number;
    coldStartMs?: number;
    details?: Record<string, unknown>;
  }): Promise<ReaperAction> {
    const at = clock.now();
    const values = {
      id: newId('rpa', at),
      kind: input.kind,
      target: input.target,
      at,
      idle_ms: input.idleMs === undefined ? null : Math.round(input.idleMs),
      cold_start_ms: input.coldStartMs ?? null,
      details: input.details ? JSON.stringify(input.details) : null,
    };
    await inTransaction(db, async (tx) => {
      await repo.insertAction({ tx, values });
      await audit.append(tx, {
        actor: 'system',
        action: AUDIT_ACTION[input.kind],
        entityType: input.kind.startsWith('deployment')
          ? 'deployment'
          : input.kind === 'gpu_idle'
            ? 'job'
            : 'worker',
        entityId: input.target,
        details: {
          ...(input.idleMs !== undefined ? { idleMs: values.idle_ms } : {}),
          ...(input.coldStartMs !== undefined ? { coldStartMs: input.coldStartMs } : {}),
          ...(input.details ?? {}),
        },
      });
    });
    return toAction(values);
  }

  async function list(q: { from?: number; to?: number } = {}): Promise<ReaperAction[]> {
    const rows = await repo.listActions({ tx: db, from: q.from ?? 0, to: q.to ?? clock.now() + 1 });
    return rows.map(toAction);
  }

  /**
   * Instance-hours not run in [from, to): each deployment counts from its unload to its next wake (or
   * the window's end), clipped to the window; each worker exit counts to the window's end (an upper
   * bound: a replacement worker started later is not known here). Money is hours times the policy's rates.
   */
  async function savings(window: { from: number; to: number }): Promise<SavingsReport> {
    const { from, to } = window;
    const rows = await repo.listActions({ tx: db, from: from - LOOKBACK_MS, to });
    const inWindow = (at: number) => at >= from && at < to;
    const overlap = (a: number, b: number) => Math.max(0, Math.min(b, to) - Math.max(a, from));
    const unloadedSince = new Map<string, number>();
    let deploymentMs = 0;
    let unloads = 0;
    let wakes = 0;
    const cold: number[] = [];
    let workerMs = 0;
    let exits = 0;
    let flagged = 0;
    let stopped = 0;
    for (const r of rows) {
      const at = Number(r.at);
      switch (r.kind as ReaperActionKind) {
        case 'deployment_unload':
          if (inWindow(at)) unloads++;
          if (!unloadedSince.has(r.target)) unloadedSince.set(r.target, at);
          break;
        case 'deployment_wake': {
          const since = unloadedSince.get(r.target);
          if (since !== undefined) deploymentMs += overlap(since, at);
          unloadedSince.delete(r.target);
          if (inWindow(at)) {
            wakes++;
            if (r.cold_start_ms !== null) cold.push(Number(r.cold_start_ms));
          }
          break;
        }
        case 'worker_exit':
          if (inWindow(at)) {
            exits++;
            workerMs += overlap(at, to);
          }
          break;
        case 'gpu_idle':
          if (inWindow(at)) {
            const action = r.details ? (JSON.parse(r.details) as { action?: string }).action : undefined;
            if (action === 'stop') stopped++;
            else flagged++;
          }
          break;
      }
    }
    for (const since of unloadedSince.values()) deploymentMs += overlap(since, to);
    const deploymentHours = deploymentMs / HOUR_MS;
    const workerHours = workerMs / HOUR_MS;
    return {
      from: toIso(from),
      to: toIso(to),
      deployments: {
        unloads,
        wakes,
        hoursSaved: deploymentHours,
        coldStartMs: {
          count: cold.length,
          mean: cold.length ? cold.reduce((a, b) => a + b, 0) / cold.length : null,
          max: cold.length ? Math.max(...cold) : null,
        },
      },
      workers: { exits, hoursSaved: workerHours },
      gpu: { flagged, stopped },
      amountSaved: deploymentHours * policy.rates.deploymentHour + workerHours * policy.rates.workerHour,
      currency: policy.rates.currency,
    };
  }

  return { policy, record, list, savings };
}

export type Reaper = ReturnType<typeof createReaper>;

function toAction(r: repo.ReaperActionRow): ReaperAction {
  return {
    id: r.id,
    kind: r.kind as ReaperActionKind,
    target: r.target,
    at: toIso(Number(r.at)),
    idleMs: r.idle_ms === null ? null : Number(r.idle_ms),
    coldStartMs: r.cold_start_ms === null ? null : Number(r.cold_start_ms),
    details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
  };
}
