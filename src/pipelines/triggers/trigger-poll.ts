import { type Clock, toIso } from '../../core/clock.js';
import { nextTick, parseCadence } from '../../jobs/index.js';
import type { Db } from '../../store/index.js';
import type { TriggerTable } from '../../store/schema-triggers.js';
import { namePattern } from './params-template.js';
import * as repo from './trigger.repo.js';
import type { Firer } from './trigger-firing.js';
import { specOf } from './trigger-view.js';

/*
 * The polling half of triggers, run by the `triggers.tick` repeatable job: cron slots that came due and
 * dataset versions past each trigger's cursor. Runs start as the trigger's creator: a schedule acts with
 * the permissions of whoever set it up, never more. Every replica may tick at once: a firing is keyed by its
 * slot or version, so the database keeps one; cursors only move forward.
 */

/** What triggers read of the data domain (data's versions service fits it). */
export interface DatasetVersionFeed {
  listDatasets(): Promise<Array<{ name: string }>>;
  listVersions(name: string): Promise<Array<{ id: string; dataset: string; number: number; digest: string }>>;
}

/** Cron cursors are epoch ms as fixed-width text, so they order as text the way they do as numbers. */
export const cronCursor = (ms: number) => String(ms).padStart(15, '0');

/** The latest slot in (after, now], or undefined. Missed slots are not replayed: one run per catch-up. */
export function latestSlot(cron: string, after: number, now: number): number | undefined {
  const cadence = parseCadence({ cron });
  let slot = nextTick(cadence, after);
  if (slot > now) return undefined;
  // Bounded: a trigger idle for years with a per-minute schedule stops at the cap, then resumes next tick.
  for (let i = 0; i < 100_000; i++) {
    const next = nextTick(cadence, slot);
    if (next > now) break;
    slot = next;
  }
  return slot;
}

export interface TickResult {
  cron: number;
  dataset: number;
  drained: number;
}

export function createTriggerPoller(deps: {
  db: Db;
  clock: Clock;
  firer: Firer;
  datasets: DatasetVersionFeed;
}) {
  const { db, clock, firer, datasets } = deps;

  async function tickCron(trigger: TriggerTable, now: number): Promise<number> {
    const on = specOf(trigger).on;
    if (!('cron' in on)) return 0;
    const after = trigger.cursor === null ? trigger.created_at : Number(trigger.cursor);
    const slot = latestSlot(on.cron, after, now);
    if (slot === undefined) return 0;
    const at = toIso(slot);
    const { duplicate } = await firer.fire(trigger, {
      key: `cron:${at}`,
      kind: 'cron',
      event: { slot: at, cron: on.cron },
      actor: trigger.created_by,
    });
    await repo.advanceCursor({ tx: db, id: trigger.id, to: cronCursor(slot) });
    return duplicate ? 0 : 1;
  }

  async function tickDataset(trigger: TriggerTable): Promise<number> {
    const on = specOf(trigger).on;
    if (!('dataset' in on)) return 0;
    const match = namePattern(on.dataset);
    const cursor = trigger.cursor ?? '';
    const fresh = [];
    for (const d of await datasets.listDatasets()) {
      if (!match.test(d.name)) continue;
      for (const v of await datasets.listVersions(d.name)) if (v.id > cursor) fresh.push(v);
    }
    fresh.sort((a, b) => (a.id < b.id ? -1 : 1));
    let fired = 0;
    for (const v of fresh) {
      const { duplicate } = await firer.fire(trigger, {
        key: `dataset:${v.id}`,
        kind: 'dataset',
        event: {
          dataset: v.dataset,
          version: v.number,
          versionId: v.id,
          digest: v.digest,
          ref: `${v.dataset}@${v.number}`,
        },
        actor: trigger.created_by,
      });
      if (!duplicate) fired++;
      await repo.advanceCursor({ tx: db, id: trigger.id, to: v.id });
    }
    return fired;
  }

  /** One pass: due cron slots, new dataset versions, then queued firings whose pipeline is free. */
  async function tick(): Promise<TickResult> {
    const now = clock.now();
    let cron = 0;
    for (const t of await repo.listLiveTriggers({ tx: db, kind: 'cron' })) cron += await tickCron(t, now);
    let dataset = 0;
    for (const t of await repo.listLiveTriggers({ tx: db, kind: 'dataset' })) dataset += await tickDataset(t);
    const drained = await firer.drainQueued();
    return { cron, dataset, drained };
  }

  return { tick };
}
