import { type Expression, sql } from 'kysely';
import { type Dialect, dialectOf, type Executor } from '../store/index.js';

/*
 * A run's params, latest metrics and tags as JSON text, built by the database: one row per run
 * instead of one per value. A search page of 1,000 runs with 100 of each is 300,000 values; read as
 * rows they are 300,000 objects and a million strings in the server before any JSON is written,
 * while the database writes the same JSON in C straight from the primary key's index, in key order.
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

// Both backends read a double literal this large as the largest finite double: only ±Infinity passes it.
const DOUBLE_MAX = sql.raw('1.7976931348623157e308');

function keyValueItem(d: Dialect): Expression<string> {
  return sql<string>`'{"key":' || ${d.jsonString(sql.ref('key'))} || ',"value":' || ${d.jsonString(sql.ref('value'))} || '}'`;
}

function metricItem(d: Dialect): Expression<string> {
  const v = sql.ref<number | null>('value');
  const value = sql<string>`case
    when ${sql.ref('is_nan')} = 1 or ${v} is null then '"NaN"'
    when ${v} > ${DOUBLE_MAX} then '"Infinity"'
    when ${v} < -${DOUBLE_MAX} then '"-Infinity"'
    else ${d.jsonDouble(v)} end`;
  const int = (column: string) => sql<string>`cast(${sql.ref(column)} as text)`;
  return sql<string>`'{"key":' || ${d.jsonString(sql.ref('key'))} || ',"value":' || ${value} || ',"timestamp":' || ${int('timestamp')} || ',"step":' || ${int('step')} || '}'`;
}

/** run_id -> its JSON array, for the runs that have rows in `table` (grouped on the primary key's index). */
async function arraysByRun(
  tx: Executor,
  table: 'params' | 'run_tags' | 'latest_metrics',
  item: Expression<string>,
  runIds: string[],
): Promise<Map<string, string>> {
  const d = dialectOf(tx);
  const rows = await tx
    .selectFrom(table)
    .select(['run_id', sql<string>`'[' || ${d.joinInOrder(item, ',', sql.ref('key'))} || ']'`.as('json')])
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
    arraysByRun(tx, 'params', keyValueItem(d), runIds),
    arraysByRun(tx, 'latest_metrics', metricItem(d), runIds),
    arraysByRun(tx, 'run_tags', keyValueItem(d), runIds),
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
