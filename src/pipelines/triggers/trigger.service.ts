import type { AuditLog } from '../../audit/index.js';
import type { Clock } from '../../core/clock.js';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { parseOrThrow } from '../../core/validate.js';
import { parseCadence } from '../../jobs/index.js';
import { type Db, inTransaction } from '../../store/index.js';
import type { TriggerTable } from '../../store/schema-triggers.js';
import { checkTemplates } from './params-template.js';
import * as repo from './trigger.repo.js';
import {
  type CreateTriggerInput,
  createTriggerInputSchema,
  type FireResult,
  type FireTriggerInput,
  type Firing,
  fireTriggerInputSchema,
  type Trigger,
  type TriggerKind,
  type TriggerSpec,
  triggerRefSchema,
} from './trigger.schema.js';
import type { Firer } from './trigger-firing.js';
import { cronCursor } from './trigger-poll.js';
import { toFiring, toTrigger } from './trigger-view.js';

export interface TriggerServiceDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  firer: Firer;
  /** The event types an event trigger may name (those the triggers subscriber receives). */
  eventTypes: readonly string[];
}

function kindOfSpec(spec: TriggerSpec): TriggerKind {
  const on = spec.on;
  if ('cron' in on) return 'cron';
  if ('dataset' in on) return 'dataset';
  if ('event' in on) return 'event';
  return 'manual';
}

/** Triggers: create (checked whole), list, show with recent firings, remove (soft), fire by hand. */
export function createTriggerService(deps: TriggerServiceDeps) {
  const { db, clock, audit, firer } = deps;

  function check(spec: TriggerSpec): void {
    const on = spec.on;
    if ('cron' in on) {
      try {
        parseCadence({ cron: on.cron });
      } catch (err) {
        throw new ValidationError(
          `on.cron: '${on.cron}' is not a cron expression (${(err as Error).message})`,
          {
            field: 'on.cron',
          },
        );
      }
    }
    if ('event' in on)
      on.event.types.forEach((t, i) => {
        if (!deps.eventTypes.includes(t))
          throw new ValidationError(
            `on.event.types.${i}: '${t}' cannot trigger a pipeline; one of ${deps.eventTypes.join(', ') || '(none registered)'}`,
            { field: `on.event.types.${i}` },
          );
      });
    checkTemplates(spec.params);
  }

  async function getRow(ref: string): Promise<TriggerTable> {
    parseOrThrow(triggerRefSchema, ref, 'trigger');
    const row = await repo.findLiveTrigger({ tx: db, ref });
    if (!row) throw new NotFoundError('trigger', ref);
    return row;
  }

  async function create(input: { actor: string } & CreateTriggerInput): Promise<Trigger> {
    const { actor, ...rest } = input;
    const spec = parseOrThrow(createTriggerInputSchema, rest);
    check(spec);
    const now = clock.now();
    const kind = kindOfSpec(spec);
    const row: TriggerTable = {
      id: newId('trg', now),
      name: spec.name,
      live_name: spec.name,
      kind,
      pipeline: spec.pipeline,
      spec: JSON.stringify(spec),
      concurrency: spec.concurrency,
      // Only what comes after the trigger fires it: slots after now, dataset versions made from now on.
      cursor: kind === 'cron' ? cronCursor(now) : kind === 'dataset' ? newId('dsv', now) : null,
      created_at: now,
      created_by: actor,
      deleted_at: null,
    };
    await inTransaction(db, async (tx) => {
      if (!(await repo.insertTrigger({ tx, row }))) throw new AlreadyExistsError('trigger', spec.name);
      await audit.append(tx, {
        actor,
        action: 'trigger.create',
        entityType: 'trigger',
        entityId: row.id,
        after: spec,
        details: { name: spec.name, kind, pipeline: spec.pipeline },
      });
    });
    return toTrigger(row);
  }

  async function list(): Promise<Trigger[]> {
    return (await repo.listLiveTriggers({ tx: db })).map(toTrigger);
  }

  async function get(ref: string): Promise<Trigger & { firings: Firing[] }> {
    const row = await getRow(ref);
    const firings = await repo.listFirings({ tx: db, triggerId: row.id, limit: 20 });
    return { ...toTrigger(row), firings: firings.map(toFiring) };
  }

  async function remove(input: { actor: string; ref: string }): Promise<void> {
    const row = await getRow(input.ref);
    await inTransaction(db, async (tx) => {
      if (!(await repo.softDeleteTrigger({ tx, id: row.id, at: clock.now() })))
        throw new NotFoundError('trigger', input.ref);
      await audit.append(tx, {
        actor: input.actor,
        action: 'trigger.delete',
        entityType: 'trigger',
        entityId: row.id,
        before: JSON.parse(row.spec),
        details: { name: row.name },
      });
    });
  }

  /**
   * Fires a trigger by hand or through the API. Without a key every call fires; with one, the same key
   * fires once (a CI job retried with its build id starts one run).
   */
  async function fire(
    input: { actor: string; ref: string; via?: 'manual' | 'api' } & FireTriggerInput,
  ): Promise<FireResult> {
    const { actor, ref, via, ...rest } = input;
    const body = parseOrThrow(fireTriggerInputSchema, rest);
    const row = await getRow(ref);
    const now = clock.now();
    return firer.fire(row, {
      key: `manual:${body.key ?? newId('trf', now)}`,
      kind: via ?? 'manual',
      event: body.event ?? {},
      actor,
    });
  }

  return { create, list, get, remove, fire };
}

export type TriggerService = ReturnType<typeof createTriggerService>;
