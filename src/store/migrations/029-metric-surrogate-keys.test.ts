import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/backends.js';
import type { Executor } from '../database.js';
import { metricSurrogateKeysMigration } from './029-metric-surrogate-keys.js';

interface NamedRow {
  id: number;
  run_id: string;
  key: string;
  value: number | null;
  is_nan: number;
  timestamp: number;
  step: number;
}

/** History rows with their run id and key name, in id order. */
async function namedRows(db: Executor, where = sql``): Promise<NamedRow[]> {
  const r = await sql<NamedRow>`select m.id, r.run_id, k.name as key, m.value, m.is_nan, m.timestamp, m.step
    from metrics m join run_numbers r on r.num = m.run_num join metric_keys k on k.id = m.key_id
    where r.run_id like 'run_m29_%' ${where} order by m.id`.execute(db);
  return r.rows.map((x) => ({
    ...x,
    id: Number(x.id),
    is_nan: Number(x.is_nan),
    timestamp: Number(x.timestamp),
    step: Number(x.step),
  }));
}

/*
 * Migration 029 moves the metric history from text keys to surrogate keys. A store is taken back to
 * the text-key table (029's down), given history rows the old way, and migrated up again.
 */
describeEachBackend('migration 029: metric history on surrogate keys', (get) => {
  it('keeps every existing point, its id and its order, and new points follow the old ids', async () => {
    const { db, dialect } = get();
    const migration = metricSurrogateKeysMigration(dialect);
    const old: [string, string, number | null, number, number, number][] = [
      ['run_m29_a', 'loss', 0.5, 0, 10, 1],
      ['run_m29_a', 'loss', 0.25, 0, 11, 2],
      ['run_m29_a', 'acc', null, 1, 12, 2],
      ['run_m29_b', 'loss', 0.75, 0, 13, 1],
      ['run_m29_a', 'loss', 0.125, 0, 9, 2],
    ];
    await migration.down(db as never);
    try {
      for (const id of ['run_m29_a', 'run_m29_b']) {
        await sql`insert into runs (id, experiment_id, name, status, lifecycle_stage, user_id, start_time,
          artifact_uri, updated_at) values (${id}, 0, ${id}, 'RUNNING', 'active', 'test', 1, 'a', 1)`.execute(
          db,
        );
      }
      for (const [runId, key, value, isNan, ts, step] of old) {
        await sql`insert into metrics (run_id, key, value, is_nan, timestamp, step)
          values (${runId}, ${key}, ${value}, ${isNan}, ${ts}, ${step})`.execute(db);
      }
    } finally {
      await migration.up(db as never);
    }

    const rows = await namedRows(db);
    expect(rows.map((r) => [r.run_id, r.key, r.value, r.is_nan, r.timestamp, r.step])).toEqual(old);
    // One run's points of one key, found through the run number and the key id.
    const loss = await namedRows(db, sql`and r.run_id = 'run_m29_a' and k.name = 'loss'`);
    expect(loss.map((r) => [r.step, r.timestamp, r.value]).sort()).toEqual([
      [1, 10, 0.5],
      [2, 11, 0.25],
      [2, 9, 0.125],
    ]);
    // Ids were kept, and a point logged after the migration gets a larger one (PostgreSQL's sequence
    // was moved past the copied ids).
    const lastOld = Math.max(...rows.map((r) => r.id));
    await sql`insert into metrics (run_num, key_id, value, is_nan, timestamp, step)
      select r.num, k.id, 1, 0, 14, 2 from run_numbers r, metric_keys k
      where r.run_id = 'run_m29_b' and k.name = 'loss'`.execute(db);
    const after = await namedRows(db, sql`and r.run_id = 'run_m29_b'`);
    expect(after.map((r) => r.value)).toEqual([0.75, 1]);
    expect(after[1]!.id).toBeGreaterThan(lastOld);
  });
});
