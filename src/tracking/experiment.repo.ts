import type { Selectable } from 'kysely';
import { AlreadyExistsError } from '../core/errors.js';
import type { Executor, ExperimentTable } from '../store/index.js';

export type ExperimentRow = Selectable<ExperimentTable>;

/*
 * Names are unique. The services look a name up before writing it, but on PostgreSQL two transactions
 * can both find it free; the loser then hits the constraint and must hear "already exists" (which
 * mlflow.set_experiment() handles), not an internal error.
 */
function nameTaken(err: unknown, name: string | undefined): never {
  const code = (err as { code?: unknown } | null)?.code;
  if (name !== undefined && (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE')) {
    throw new AlreadyExistsError('experiment', name);
  }
  throw err;
}

export async function insertExperiment({
  tx,
  values,
}: {
  tx: Executor;
  values: Omit<ExperimentTable, 'id' | 'deleted_at'>;
}): Promise<number> {
  try {
    const row = await tx.insertInto('experiments').values(values).returning('id').executeTakeFirstOrThrow();
    return row.id;
  } catch (err) {
    return nameTaken(err, values.name);
  }
}

export async function findExperiment({
  tx,
  id,
}: {
  tx: Executor;
  id: number;
}): Promise<ExperimentRow | undefined> {
  return tx.selectFrom('experiments').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findExperimentByName({
  tx,
  name,
}: {
  tx: Executor;
  name: string;
}): Promise<ExperimentRow | undefined> {
  return tx.selectFrom('experiments').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function updateExperiment({
  tx,
  id,
  set,
}: {
  tx: Executor;
  id: number;
  set: Partial<Omit<ExperimentTable, 'id'>>;
}): Promise<void> {
  try {
    await tx.updateTable('experiments').set(set).where('id', '=', id).execute();
  } catch (err) {
    nameTaken(err, set.name);
  }
}

export async function listExperimentTags({ tx, ids }: { tx: Executor; ids: number[] }) {
  if (ids.length === 0) return [];
  return tx.selectFrom('experiment_tags').selectAll().where('experiment_id', 'in', ids).execute();
}

export async function upsertExperimentTag({
  tx,
  experimentId,
  key,
  value,
}: {
  tx: Executor;
  experimentId: number;
  key: string;
  value: string;
}): Promise<void> {
  await tx
    .insertInto('experiment_tags')
    .values({ experiment_id: experimentId, key, value })
    .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet({ value }))
    .execute();
}

export async function deleteExperimentTag({
  tx,
  experimentId,
  key,
}: {
  tx: Executor;
  experimentId: number;
  key: string;
}) {
  const r = await tx
    .deleteFrom('experiment_tags')
    .where('experiment_id', '=', experimentId)
    .where('key', '=', key)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export interface ExperimentListQuery {
  stages: string[];
  /** Name filter: exact, or a SQL LIKE pattern (case-sensitive or not). */
  name?: { op: '=' | '!=' | 'like' | 'ilike'; value: string };
  tag?: { key: string; op: '=' | '!=' | 'like' | 'ilike'; value: string };
  orderBy: { column: 'name' | 'created_at' | 'updated_at' | 'id'; desc: boolean };
  offset: number;
  limit: number;
}

export async function listExperiments({
  tx,
  q,
}: {
  tx: Executor;
  q: ExperimentListQuery;
}): Promise<ExperimentRow[]> {
  let query = tx.selectFrom('experiments').selectAll().where('lifecycle_stage', 'in', q.stages);
  if (q.name) {
    const { op, value } = q.name;
    query =
      op === 'ilike'
        ? query.where((eb) => eb(eb.fn('lower', ['name']), 'like', value.toLowerCase()))
        : query.where('name', op, value);
  }
  if (q.tag) {
    const { key, op, value } = q.tag;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('experiment_tags as t')
          .select('t.key')
          .whereRef('t.experiment_id', '=', 'experiments.id')
          .where('t.key', '=', key)
          .where((e2) =>
            op === 'ilike'
              ? e2(e2.fn('lower', ['t.value']), 'like', value.toLowerCase())
              : e2('t.value', op, value),
          ),
      ),
    );
  }
  return query
    .orderBy(q.orderBy.column, q.orderBy.desc ? 'desc' : 'asc')
    .orderBy('id', 'asc')
    .offset(q.offset)
    .limit(q.limit)
    .execute();
}
