import type { AuditLog } from '../../audit/index.js';
import type { Clock } from '../../core/clock.js';
import { assertNever, isAppError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { type Db, inTransaction } from '../../store/index.js';
import type { TriggerFiringTable, TriggerTable } from '../../store/schema-triggers.js';
import { renderParams } from './params-template.js';
import type { PipelineStarter, PipelineTriggerRef } from './pipeline-starter.js';
import * as repo from './trigger.repo.js';
import type { FireResult, FiringStatus } from './trigger.schema.js';
import { specOf, toFiring } from './trigger-view.js';

/*
 * One firing of a trigger: claim the (trigger, key) row first — the database refuses a second one, so
 * two replicas on one cron slot, or one event delivered twice, start one run — then apply the
 * concurrency policy against the pipeline's active runs, then record the outcome with its audit entry.
 *
 * A process killed between the claim and the outcome leaves the firing 'pending': it is not retried
 * (a retry could not tell whether the run had started), and `sextant triggers show` lists it.
 */

export interface FiringDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  starter: PipelineStarter;
}

/** What fired a trigger: its dedup key, the transport kind, and the values its params read. */
export interface Occasion {
  key: string;
  kind: PipelineTriggerRef['kind'];
  event: Record<string, unknown>;
  actor: string;
}

export function createFirer(deps: FiringDeps) {
  const { db, clock, audit, starter } = deps;

  /** Moves a firing out of `from` with its audit entry; false when another process moved it first. */
  async function settle(
    firing: TriggerFiringTable,
    from: FiringStatus,
    to: { status: FiringStatus; runId?: string; error?: string; details?: Record<string, unknown> },
  ): Promise<boolean> {
    return inTransaction(db, async (tx) => {
      const moved = await repo.moveFiring({
        tx,
        id: firing.id,
        from,
        set: {
          status: to.status,
          run_id: to.runId ?? null,
          error: to.error ?? null,
          updated_at: clock.now(),
        },
      });
      if (moved)
        await audit.append(tx, {
          actor: firing.actor,
          action: `trigger.firing.${to.status}`,
          entityType: 'trigger',
          entityId: firing.trigger_id,
          details: {
            firingId: firing.id,
            key: firing.key,
            ...(to.runId ? { runId: to.runId } : {}),
            ...(to.error ? { error: to.error } : {}),
            ...to.details,
          },
        });
      return moved;
    });
  }

  async function start(trigger: TriggerTable, firing: TriggerFiringTable, kind: PipelineTriggerRef['kind']) {
    try {
      const run = await starter.start({
        pipeline: trigger.pipeline,
        params: JSON.parse(firing.params) as Record<string, unknown>,
        trigger: { kind, key: firing.key, triggerId: trigger.id },
        actor: firing.actor,
      });
      return { runId: run.runId };
    } catch (err) {
      // A pipeline that cannot start (unknown, bad params) is the firing's outcome, not a crash of the tick.
      if (isAppError(err)) return { error: `${err.code}: ${err.message}` };
      throw err;
    }
  }

  /** Applies the trigger's concurrency policy to a claimed ('pending') firing. */
  async function decide(trigger: TriggerTable, firing: TriggerFiringTable, kind: PipelineTriggerRef['kind']) {
    const policy = specOf(trigger).concurrency;
    const active = await starter.active(trigger.pipeline);
    const cancelled: string[] = [];
    if (active.length > 0 || (policy === 'queue' && (await hasQueued(trigger.id)))) {
      switch (policy) {
        case 'skip':
          return settle(firing, 'pending', {
            status: 'skipped',
            error: `run ${active[0]?.runId} of '${trigger.pipeline}' is still active`,
          });
        case 'queue':
          // Queued behind the active run (or behind older queued firings): the tick starts it later.
          return settle(firing, 'pending', { status: 'queued' });
        case 'cancel-older':
          for (const a of active) {
            try {
              await starter.cancel(a.runId, firing.actor);
              cancelled.push(a.runId);
            } catch (err) {
              // It finished between active() and cancel(): nothing left to cancel.
              if (!isAppError(err)) throw err;
            }
          }
          break;
        default:
          assertNever(policy);
      }
    }
    const outcome = await start(trigger, firing, kind);
    return settle(
      firing,
      'pending',
      'runId' in outcome
        ? { status: 'started', runId: outcome.runId, ...(cancelled.length ? { details: { cancelled } } : {}) }
        : { status: 'failed', error: outcome.error },
    );
  }

  async function hasQueued(triggerId: string): Promise<boolean> {
    return repo.hasQueued({ tx: db, triggerId });
  }

  /** Fires a trigger once per occasion key; a second call with the same key returns the first firing. */
  async function fire(trigger: TriggerTable, o: Occasion): Promise<FireResult> {
    let params: Record<string, unknown> = {};
    let renderError: string | undefined;
    try {
      params = renderParams(specOf(trigger).params, {
        event: o.event,
        trigger: { id: trigger.id, name: trigger.name, kind: trigger.kind },
      });
    } catch (err) {
      if (!isAppError(err)) throw err;
      renderError = err.message;
    }
    const now = clock.now();
    const row: TriggerFiringTable = {
      id: newId('trf', now),
      trigger_id: trigger.id,
      key: o.key,
      status: 'pending',
      run_id: null,
      params: JSON.stringify(params),
      context: JSON.stringify(o.event),
      error: null,
      actor: o.actor,
      created_at: now,
      updated_at: now,
    };
    const claimed = await inTransaction(db, async (tx) => {
      if (!(await repo.insertFiring({ tx, row }))) return false;
      await audit.append(tx, {
        actor: o.actor,
        action: 'trigger.fire',
        entityType: 'trigger',
        entityId: trigger.id,
        details: { firingId: row.id, key: o.key, kind: o.kind, pipeline: trigger.pipeline },
      });
      return true;
    });
    if (!claimed) {
      const first = await repo.findFiring({ tx: db, triggerId: trigger.id, key: o.key });
      return { firing: toFiring(first!), duplicate: true };
    }
    if (renderError) await settle(row, 'pending', { status: 'failed', error: renderError });
    else await decide(trigger, row, o.kind);
    return { firing: toFiring((await repo.findFiringById({ tx: db, id: row.id }))!), duplicate: false };
  }

  /**
   * Starts queued firings whose pipeline has no active run, oldest first, one per pipeline per pass.
   * The queued -> pending move is conditional, so of two replicas draining at once one starts it.
   */
  async function drainQueued(): Promise<number> {
    const queued = await repo.listQueued({ tx: db, limit: 200 });
    const busy = new Set<string>();
    let started = 0;
    for (const firing of queued) {
      const trigger = await repo.findTriggerById({ tx: db, id: firing.trigger_id });
      if (!trigger || busy.has(trigger.pipeline)) continue;
      busy.add(trigger.pipeline);
      if ((await starter.active(trigger.pipeline)).length > 0) continue;
      const claimed = await inTransaction(db, (tx) =>
        repo.moveFiring({
          tx,
          id: firing.id,
          from: 'queued',
          set: { status: 'pending', run_id: null, error: null, updated_at: clock.now() },
        }),
      );
      if (!claimed) continue;
      const outcome = await start(trigger, firing, kindOf(trigger.kind));
      await settle(
        firing,
        'pending',
        'runId' in outcome
          ? { status: 'started', runId: outcome.runId, details: { fromQueue: true } }
          : { status: 'failed', error: outcome.error },
      );
      if ('runId' in outcome) started++;
    }
    return started;
  }

  return { fire, drainQueued };
}

export type Firer = ReturnType<typeof createFirer>;

/** The run's trigger kind for a trigger of this kind (a manual trigger's runs say 'manual'). */
export function kindOf(kind: string): PipelineTriggerRef['kind'] {
  return kind === 'cron' || kind === 'dataset' || kind === 'event' ? kind : 'manual';
}
