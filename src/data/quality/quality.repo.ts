import type { Selectable } from 'kysely';
import type { Executor } from '../../store/index.js';
import type { DataQualityResultTable } from '../../store/schema-data-quality.js';

export type ResultRow = Selectable<DataQualityResultTable>;

/** Stores a suite's text once per digest and returns the id of the stored one (existing or new). */
export async function upsertSuite({
  tx,
  values,
}: {
  tx: Executor;
  values: { id: string; name: string; digest: string; text: string; created_at: number; created_by: string };
}): Promise<string> {
  // ON CONFLICT DO NOTHING keeps a PostgreSQL transaction usable when another writer stored it first.
  await tx
    .insertInto('data_quality_suites')
    .values(values)
    .onConflict((oc) => oc.column('digest').doNothing())
    .execute();
  const row = await tx
    .selectFrom('data_quality_suites')
    .select('id')
    .where('digest', '=', values.digest)
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function insertResult({
  tx,
  values,
}: {
  tx: Executor;
  values: Omit<ResultRow, 'deleted_at'>;
}): Promise<void> {
  await tx
    .insertInto('data_quality_results')
    .values({ ...values, deleted_at: null })
    .execute();
}

/** Results of a version, newest first, with their suite's digest. */
export async function listResults({
  tx,
  versionId,
  suite,
}: {
  tx: Executor;
  versionId: string;
  suite?: string;
}): Promise<(ResultRow & { suite_digest: string })[]> {
  let q = tx
    .selectFrom('data_quality_results as r')
    .innerJoin('data_quality_suites as s', 's.id', 'r.suite_id')
    .selectAll('r')
    .select('s.digest as suite_digest')
    .where('r.version_id', '=', versionId)
    .where('r.deleted_at', 'is', null);
  if (suite !== undefined) q = q.where('r.suite_name', '=', suite);
  return q.orderBy('r.created_at', 'desc').orderBy('r.id', 'desc').execute();
}

/** The text of a stored suite. */
export async function findSuiteText({
  tx,
  digest,
}: {
  tx: Executor;
  digest: string;
}): Promise<string | undefined> {
  const row = await tx
    .selectFrom('data_quality_suites')
    .select('text')
    .where('digest', '=', digest)
    .executeTakeFirst();
  return row?.text;
}
