import { sql } from 'kysely';
import { type Dialect, dialectOf, type Executor, type JsonField } from '../store/index.js';

/*
 * A run's params, latest metrics and tags as JSON text, built by the database: one row per run
 * instead of one per value. A search page of 1,000 runs with 100 of each is 300,000 values; read as
 * rows they are 300,000 objects and a million strings in the server before any JSON is written,
 * while the database writes the same JSON straight from the primary key's index, in key order.
 * Each text is a JSON array of objects in the wire shape both APIs use:
 *   params, tags: [{"key":"lr","value":"0.01"}, ...]
 *   metrics:      [{"key":"acc","value":0.93,"timestamp":1700000000000,"step":3}, ...]
 * with NaN and ±Infinity as the strings "NaN", "Infinity" and "-Infinity" (metricValueOut's form).
 */

export interface RunDataJson {
  params: string;
  metrics: string;
  tags: string;
}

const EMPTY: RunDataJson = { params: '[]', metrics: '[]', tags: '[]' };

const KEY_VALUE: readonly JsonField[] = [
  ['key', sql.ref('key')],
  ['value', sql.ref('value')],
];

function metricFields(d: Dialect): readonly JsonField[] {
  return [
    ['key', sql.ref('key')],
    ['value', d.protobufDouble(sql.ref('value'), sql.ref('is_nan'))],
    ['timestamp', sql.ref('timestamp')],
    ['step', sql.ref('step')],
  ];
}

/** run_id -> its JSON array, for the runs that have rows in `table` (grouped on the primary key's index). */
async function arraysByRun(
  tx: Executor,
  table: 'params' | 'run_tags' | 'latest_metrics',
  fields: readonly JsonField[],
  runIds: string[],
): Promise<Map<string, string>> {
  const rows = await tx
    .selectFrom(table)
    .select(['run_id', dialectOf(tx).jsonObjectsAgg(fields, sql.ref('key')).as('json')])
    .where('run_id', 'in', runIds)
    .groupBy('run_id')
    .execute();
  return new Map(rows.map((r) => [r.run_id, r.json]));
}

/** Params, latest metrics and tags of many runs as JSON text, each list in code-point order of its keys. */
export async function listRunDataJson({
  tx,
  runIds,
}: {
  tx: Executor;
  runIds: string[];
}): Promise<Map<string, RunDataJson>> {
  const out = new Map<string, RunDataJson>();
  if (runIds.length === 0) return out;
  const d = dialectOf(tx);
  const [params, metrics, tags] = await Promise.all([
    arraysByRun(tx, 'params', KEY_VALUE, runIds),
    arraysByRun(tx, 'latest_metrics', metricFields(d), runIds),
    arraysByRun(tx, 'run_tags', KEY_VALUE, runIds),
  ]);
  for (const id of runIds) {
    out.set(id, {
      params: params.get(id) ?? EMPTY.params,
      metrics: metrics.get(id) ?? EMPTY.metrics,
      tags: tags.get(id) ?? EMPTY.tags,
    });
  }
  return out;
}
