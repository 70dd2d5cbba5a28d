import path from 'node:path';
import { z } from 'zod';
import { type AuditLog, createAuditLog } from '../src/audit/index.js';
import { systemClock } from '../src/core/clock.js';
import { createEventBus, createEventCatalogue, defineEvent, type EventBus } from '../src/events/index.js';
import { createWebhookService } from '../src/events/webhooks/index.js';
import { inTransaction, openStore, type Store } from '../src/store/index.js';
import {
  createPostgresDatabase,
  fmtInt,
  fmtMs,
  fmtRatio,
  intEnv,
  nowMs,
  printTable,
  progress,
  runCleanups,
  tempDir,
} from './support.js';

/*
 * Event outbox benchmark (npm run bench:events). Prints a table and ratios; asserts nothing.
 *   What emitting costs a change: N transactions that each write an audit entry (the baseline: what
 *   every change already does), against the same transactions that also emit one event with one
 *   subscriber (event row + delivery row + the webhook target lookup). Then how fast one process
 *   delivers those events through deliverDue() with an atomic handler that writes an audit entry.
 * Knobs: BENCH_EVENTS (500), BENCH_ROUNDS (3). SQLite always; PostgreSQL when reachable.
 */

const N = intEnv('BENCH_EVENTS', 500);
const ROUNDS = intEnv('BENCH_ROUNDS', 3);
const KEY = 'bench-audit-key-0123456789';

const happened = defineEvent({
  type: 'bench.thing.happened',
  emittedBy: 'bench',
  description: 'a benchmark event',
  schema: z.object({ i: z.number().int(), name: z.string() }),
});

function wire(store: Store): { audit: AuditLog; bus: EventBus } {
  const clock = systemClock;
  const audit = createAuditLog({ db: store.db, dialect: store.dialect, clock, key: KEY });
  const catalogue = createEventCatalogue([happened]);
  const webhooks = createWebhookService({ db: store.db, audit, clock, catalogue, secretKey: KEY });
  const bus = createEventBus({ db: store.db, clock, catalogue, webhooks, delivery: { batch: 100 } });
  bus.subscribe({
    name: 'bench.handler',
    types: [happened.type],
    async handle(event, ctx) {
      await audit.append(ctx.tx, {
        actor: 'bench',
        action: 'bench.handled',
        entityType: 'event',
        entityId: event.id,
      });
    },
  });
  return { audit, bus };
}

async function changes(store: Store, audit: AuditLog, bus: EventBus | undefined): Promise<number> {
  const start = nowMs();
  for (let i = 0; i < N; i++)
    await inTransaction(store.db, async (tx) => {
      await audit.append(tx, {
        actor: 'bench',
        action: 'bench.change',
        entityType: 'thing',
        entityId: `t${i}`,
      });
      if (bus) await bus.emit(tx, happened.type, { i, name: `thing ${i}` });
    });
  return nowMs() - start;
}

async function measure(label: string, url: string): Promise<string[][]> {
  const store = await openStore(url);
  const { audit, bus } = wire(store);
  await bus.close(0); // no after-commit kick: delivery is measured on its own below
  const rows: string[][] = [];
  try {
    let base = Number.POSITIVE_INFINITY;
    let withEvent = Number.POSITIVE_INFINITY;
    let deliver = Number.POSITIVE_INFINITY;
    for (let r = 0; r < ROUNDS; r++) {
      progress(`${label}: round ${r + 1}/${ROUNDS}`);
      // Side by side, alternating, best of ROUNDS: the machine is shared and noisy.
      base = Math.min(base, await changes(store, audit, undefined));
      withEvent = Math.min(withEvent, await changes(store, audit, bus));
      const start = nowMs();
      let done = 0;
      while (done < N) done += (await bus.deliverDue()).subscribers.filter((o) => o.state === 'done').length;
      deliver = Math.min(deliver, nowMs() - start);
    }
    rows.push([label, 'change (audit entry)', fmtMs(base / N), fmtInt((N / base) * 1000), '1.00x']);
    rows.push([
      label,
      'change + emit',
      fmtMs(withEvent / N),
      fmtInt((N / withEvent) * 1000),
      fmtRatio(withEvent / base),
    ]);
    rows.push([
      label,
      'deliver (atomic handler)',
      fmtMs(deliver / N),
      fmtInt((N / deliver) * 1000),
      fmtRatio(deliver / base),
    ]);
  } finally {
    await store.close();
  }
  return rows;
}

try {
  const rows = await measure('sqlite', `sqlite:${path.join(tempDir('sextant-bench-events-'), 'bench.db')}`);
  const pg = await createPostgresDatabase();
  if ('url' in pg) rows.push(...(await measure('postgres', pg.url)));
  else progress(`postgres skipped: ${pg.skipped}`);
  console.log(
    `\nEvent outbox, ${N} transactions per row (best of ${ROUNDS}; ratio against the audit-only change)\n`,
  );
  printTable(['backend', 'what', 'ms/op', 'ops/s', 'ratio'], rows);
} finally {
  await runCleanups();
}
