import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../dialect.js';

/**
 * Integer surrogate keys in the metric history (issue 19, item 3). A history row named its run and
 * its key by text (a 30-character run id and the key's name, in the row and again in the index);
 * log-batch writes a thousand rows at a time, and SQLite's insert cost grows with what each row and
 * index entry hold. Runs now get a number (run_numbers, given at a run's first metric) and metric key
 * names an id (metric_keys, shared by all runs); history rows hold the two integers. Existing rows
 * keep their ids (page tokens hold them). latest_metrics, params and tags keep their text keys.
 */
export function metricSurrogateKeysMigration(dialect: Dialect) {
  const { serial, bigSerial } = dialect;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('run_numbers')
        .addColumn('num', serial, (c) => dialect.autoIncrementKey(c))
        .addColumn('run_id', 'text', (c) => c.notNull().unique().references('runs.id'))
        .execute();
      await db.schema
        .createTable('metric_keys')
        .addColumn('id', serial, (c) => dialect.autoIncrementKey(c))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .execute();
      await sql`insert into run_numbers (run_id) select distinct run_id from metrics order by run_id`.execute(
        db,
      );
      await sql`insert into metric_keys (name) select distinct key from metrics order by key`.execute(db);

      await db.schema
        .createTable('metric_history')
        .addColumn('id', bigSerial, (c) => dialect.autoIncrementKey(c))
        .addColumn('run_num', 'integer', (c) => c.notNull().references('run_numbers.num'))
        .addColumn('key_id', 'integer', (c) => c.notNull().references('metric_keys.id'))
        .addColumn('value', 'double precision')
        .addColumn('is_nan', 'integer', (c) => c.notNull())
        .addColumn('timestamp', 'bigint', (c) => c.notNull())
        .addColumn('step', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into metric_history (id, run_num, key_id, value, is_nan, timestamp, step)
        select m.id, r.num, k.id, m.value, m.is_nan, m.timestamp, m.step
        from metrics m join run_numbers r on r.run_id = m.run_id join metric_keys k on k.name = m.key
        order by m.id`.execute(db);
      await db.schema.dropTable('metrics').execute();
      await db.schema.alterTable('metric_history').renameTo('metrics').execute();
      await db.schema
        .createIndex('metrics_run_key')
        .on('metrics')
        .columns(['run_num', 'key_id', 'step'])
        .execute();
      await restartSerial(db, dialect, 'metrics', 'id');
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('metric_history')
        .addColumn('id', bigSerial, (c) => dialect.autoIncrementKey(c))
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'double precision')
        .addColumn('is_nan', 'integer', (c) => c.notNull())
        .addColumn('timestamp', 'bigint', (c) => c.notNull())
        .addColumn('step', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into metric_history (id, run_id, key, value, is_nan, timestamp, step)
        select m.id, r.run_id, k.name, m.value, m.is_nan, m.timestamp, m.step
        from metrics m join run_numbers r on r.num = m.run_num join metric_keys k on k.id = m.key_id
        order by m.id`.execute(db);
      await db.schema.dropTable('metrics').execute();
      await db.schema.alterTable('metric_history').renameTo('metrics').execute();
      await db.schema
        .createIndex('metrics_run_key')
        .on('metrics')
        .columns(['run_id', 'key', 'step'])
        .execute();
      await restartSerial(db, dialect, 'metrics', 'id');
      await db.schema.dropTable('metric_keys').execute();
      await db.schema.dropTable('run_numbers').execute();
    },
  };
}

/** PostgreSQL's serial draws from a sequence that rows copied with their ids did not move. */
async function restartSerial(db: Kysely<unknown>, dialect: Dialect, table: string, column: string) {
  if (dialect.name !== 'postgres') return;
  await sql`select setval(pg_get_serial_sequence(${table}, ${column}),
    (select coalesce(max(${sql.ref(column)}), 0) + 1 from ${sql.table(table)}), false)`.execute(db);
}
