import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';

/*
 * Bulk loads of finished runs (runs, tags, params, history + latest metrics) straight into a
 * migrated sextant database, for benchmarks that need many runs fast: one transaction per call.
 */

export interface SearchData {
  runs: { id: string; name: string; start: number }[];
  tags: [string, string, string][];
  params: [string, string, string][];
  /** run_id, key, value, timestamp, step: one history row and the latest value per metric. */
  metrics: [string, string, number, number, number][];
}

/** Bulk-loads through a second connection to the server's SQLite file, in one transaction. */
export function fillSqlite(file: string, experimentId: number, data: SearchData): void {
  const db = new BetterSqlite3(file);
  db.pragma('busy_timeout = 10000');
  db.pragma('foreign_keys = ON');
  const run = db.prepare(
    `insert into runs (id, experiment_id, name, status, lifecycle_stage, user_id, start_time, end_time, artifact_uri, updated_at)
     values (?, ?, ?, 'FINISHED', 'active', 'bench', ?, ?, ?, ?)`,
  );
  const tag = db.prepare('insert into run_tags (run_id, key, value) values (?, ?, ?)');
  const param = db.prepare('insert into params (run_id, key, value) values (?, ?, ?)');
  // The history names runs and keys by surrogate key (migration 029).
  const runNumber = db.prepare('insert into run_numbers (run_id) values (?)');
  const metricKey = db.prepare('insert into metric_keys (name) values (?) on conflict (name) do nothing');
  const keyId = db.prepare<[string], { id: number }>('select id from metric_keys where name = ?');
  const metric = db.prepare(
    'insert into metrics (run_num, key_id, value, is_nan, timestamp, step) values (?, ?, ?, 0, ?, ?)',
  );
  const latest = db.prepare(
    'insert into latest_metrics (run_id, key, value, is_nan, timestamp, step) values (?, ?, ?, 0, ?, ?)',
  );
  db.transaction(() => {
    for (const r of data.runs) {
      run.run(
        r.id,
        experimentId,
        r.name,
        r.start,
        r.start + 500,
        `mlflow-artifacts:/${experimentId}/${r.id}/artifacts`,
        r.start,
      );
    }
    for (const t of data.tags) tag.run(...t);
    for (const p of data.params) param.run(...p);
    const runNums = new Map<string, number>();
    const keyIds = new Map<string, number>();
    for (const m of data.metrics) {
      const [runId, key, value, ts, step] = m;
      if (!runNums.has(runId)) runNums.set(runId, Number(runNumber.run(runId).lastInsertRowid));
      if (!keyIds.has(key)) {
        metricKey.run(key);
        keyIds.set(key, keyId.get(key)!.id);
      }
      metric.run(runNums.get(runId), keyIds.get(key), value, ts, step);
      latest.run(...m);
    }
  }).immediate();
  db.close();
}

/** Bulk-loads PostgreSQL with one INSERT ... SELECT FROM unnest(arrays) per table, in one transaction. */
export async function fillPostgres(
  url: string,
  experimentId: number,
  data: SearchData,
  options: { analyze?: boolean } = {},
): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const col = <T, K extends keyof T>(rows: T[], k: K) => rows.map((r) => r[k]);
  try {
    await c.query('begin');
    await c.query(
      `insert into runs (id, experiment_id, name, status, lifecycle_stage, user_id, start_time, end_time, artifact_uri, updated_at)
       select id, $1::int, name, 'FINISHED', 'active', 'bench', start, start + 500,
              'mlflow-artifacts:/' || $1::int::text || '/' || id || '/artifacts', start
       from unnest($2::text[], $3::text[], $4::bigint[]) as t(id, name, start)`,
      [experimentId, col(data.runs, 'id'), col(data.runs, 'name'), col(data.runs, 'start')],
    );
    for (const table of ['run_tags', 'params'] as const) {
      const rows = table === 'run_tags' ? data.tags : data.params;
      await c.query(
        `insert into ${table} (run_id, key, value) select * from unnest($1::text[], $2::text[], $3::text[])`,
        [col(rows, 0), col(rows, 1), col(rows, 2)],
      );
    }
    const metricArrays = [0, 1, 2, 3, 4].map((i) => col(data.metrics, i as 0 | 1 | 2 | 3 | 4));
    const metricRows = `unnest($1::text[], $2::text[], $3::float8[], $4::bigint[], $5::bigint[]) as t(run_id, key, value, ts, step)`;
    await c.query(
      `insert into latest_metrics (run_id, key, value, is_nan, timestamp, step)
       select run_id, key, value, 0, ts, step from ${metricRows}`,
      metricArrays,
    );
    // The history names runs and keys by surrogate key (migration 029).
    await c.query(
      'insert into run_numbers (run_id) select distinct run_id from unnest($1::text[]) as t(run_id)',
      [col(data.metrics, 0)],
    );
    await c.query(
      'insert into metric_keys (name) select distinct key from unnest($1::text[]) as t(key) on conflict (name) do nothing',
      [col(data.metrics, 1)],
    );
    await c.query(
      `insert into metrics (run_num, key_id, value, is_nan, timestamp, step)
       select r.num, k.id, t.value, 0, t.ts, t.step from ${metricRows}
       join run_numbers r on r.run_id = t.run_id join metric_keys k on k.name = t.key`,
      metricArrays,
    );
    await c.query('commit');
    // What autovacuum would do shortly after a load this size; without it the planner guesses.
    if (options.analyze ?? true) await c.query('analyze');
  } finally {
    await c.end();
  }
}
