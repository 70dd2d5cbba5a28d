import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/backends.js';
import { metricSurrogateKeysMigration } from '../store/migrations/029-metric-surrogate-keys.js';
import { readHistory } from './metric-history.js';
import { namedMetricHistory } from './metric-history.repo.js';
import { insertMetrics } from './run-data.repo.js';

/*
 * Migration 029 moves the metric history from text keys to surrogate keys. A store is taken back to
 * the text-key table (029's down), given history rows the old way, and migrated up again.
 */
describeEachBackend('migration 029: metric history on surrogate keys', (get) => {
  it('keeps every existing point, its id and its order, and new points follow the old ids', async () => {
    const { db, dialect } = get();
    const migration = metricSurrogateKeysMigration(dialect);
    await migration.down(db as never);
    try {
      for (const id of ['run_m29_a', 'run_m29_b']) {
        await sql`insert into runs (id, experiment_id, name, status, lifecycle_stage, user_id, start_time,
          artifact_uri, updated_at) values (${id}, 0, ${id}, 'RUNNING', 'active', 'test', 1, 'a', 1)`.execute(
          db,
        );
      }
      const old: [string, string, number | null, number, number, number][] = [
        ['run_m29_a', 'loss', 0.5, 0, 10, 1],
        ['run_m29_a', 'loss', 0.25, 0, 11, 2],
        ['run_m29_a', 'acc', null, 1, 12, 2],
        ['run_m29_b', 'loss', 0.75, 0, 13, 1],
        ['run_m29_a', 'loss', 0.125, 0, 9, 2],
      ];
      for (const [runId, key, value, isNan, ts, step] of old) {
        await sql`insert into metrics (run_id, key, value, is_nan, timestamp, step)
          values (${runId}, ${key}, ${value}, ${isNan}, ${ts}, ${step})`.execute(db);
      }
    } finally {
      await migration.up(db as never);
    }

    const rows = await namedMetricHistory(db)
      .where('run_id', 'in', ['run_m29_a', 'run_m29_b'])
      .orderBy('id')
      .execute();
    expect(
      rows.map((r) => [r.run_id, r.key, r.value, Number(r.is_nan), Number(r.timestamp), Number(r.step)]),
    ).toEqual([
      ['run_m29_a', 'loss', 0.5, 0, 10, 1],
      ['run_m29_a', 'loss', 0.25, 0, 11, 2],
      ['run_m29_a', 'acc', null, 1, 12, 2],
      ['run_m29_b', 'loss', 0.75, 0, 13, 1],
      ['run_m29_a', 'loss', 0.125, 0, 9, 2],
    ]);
    // The history reader finds a run's points by its run id and key name, in (step, timestamp) order.
    const { rows: loss } = await readHistory(db, { runId: 'run_m29_a', key: 'loss' }, {}, 10);
    expect(loss.map((r) => [r.step, r.timestamp, r.value])).toEqual([
      [1, 10, 0.5],
      [2, 9, 0.125],
      [2, 11, 0.25],
    ]);
    // Ids were kept, and a point logged after the migration gets a larger one (PostgreSQL's sequence
    // was moved past the copied ids).
    const lastOld = Math.max(...rows.map((r) => Number(r.id)));
    await insertMetrics({
      tx: db,
      dialect,
      rows: [{ run_id: 'run_m29_b', key: 'loss', value: 1, is_nan: 0, timestamp: 14, step: 2 }],
    });
    const after = await namedMetricHistory(db).where('run_id', '=', 'run_m29_b').orderBy('id').execute();
    expect(after.map((r) => r.value)).toEqual([0.75, 1]);
    expect(Number(after[1]!.id)).toBeGreaterThan(lastOld);
  });
});
