import type { Executor } from '../store/index.js';

/*
 * The surrogate keys of the metric history (migration 029): a number per run, given at its first
 * metric, and an id per metric key name, shared by all runs. Both are only ever added, never changed,
 * so a number or id once read stays right. On PostgreSQL two transactions may add the same run or name
 * at once: the insert skips a conflict, and the loser reads the winner's row once it has committed.
 */

/** The run's number, or undefined when nothing was ever logged to it. */
export async function findRunNumber({ tx, runId }: { tx: Executor; runId: string }) {
  const row = await tx.selectFrom('run_numbers').select('num').where('run_id', '=', runId).executeTakeFirst();
  return row === undefined ? undefined : Number(row.num);
}

/** The run's number, given now if it has none. */
export async function ensureRunNumber({ tx, runId }: { tx: Executor; runId: string }): Promise<number> {
  const found = await findRunNumber({ tx, runId });
  if (found !== undefined) return found;
  const added = await tx
    .insertInto('run_numbers')
    .values({ run_id: runId })
    .onConflict((oc) => oc.column('run_id').doNothing())
    .returning('num')
    .executeTakeFirst();
  if (added) return Number(added.num);
  const raced = await findRunNumber({ tx, runId });
  if (raced === undefined) throw new Error(`run_numbers: no number for run '${runId}' after adding it`);
  return raced;
}

async function findKeyIds(tx: Executor, names: string[], into: Map<string, number>): Promise<void> {
  if (names.length === 0) return;
  const rows = await tx.selectFrom('metric_keys').select(['id', 'name']).where('name', 'in', names).execute();
  for (const r of rows) into.set(r.name, Number(r.id));
}

/** Ids of metric key names (distinct), added for names seen for the first time. */
export async function ensureMetricKeyIds({
  tx,
  names,
}: {
  tx: Executor;
  names: string[];
}): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  await findKeyIds(tx, names, ids);
  // Sorted, so concurrent transactions adding the same names take their locks in the same order.
  const missing = names.filter((n) => !ids.has(n)).sort();
  if (missing.length === 0) return ids;
  const added = await tx
    .insertInto('metric_keys')
    .values(missing.map((name) => ({ name })))
    .onConflict((oc) => oc.column('name').doNothing())
    .returning(['id', 'name'])
    .execute();
  for (const r of added) ids.set(r.name, Number(r.id));
  const raced = missing.filter((n) => !ids.has(n));
  await findKeyIds(tx, raced, ids);
  for (const n of raced) if (!ids.has(n)) throw new Error(`metric_keys: no id for '${n}' after adding it`);
  return ids;
}
