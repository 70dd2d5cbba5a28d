import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Database, Executor } from '../store/index.js';
import type { PredictionTable } from '../store/schema-serving.js';

/* Reads for prediction seals: the last seal, the seals up to a head, and rows of the log by keyset range. */

export const SEAL_ACTION = 'predictions.sealed';

/** A position in the log's (served_at, id) order. */
export interface LogKey {
  servedAt: number;
  id: string;
}

/** The newest seal entry's details. */
export async function findLastSeal(
  tx: Executor,
): Promise<{ seq: number; details: string | null } | undefined> {
  const row = await tx
    .selectFrom('audit_entries')
    .select(['seq', 'details'])
    .where('action', '=', SEAL_ACTION)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), details: row.details } : undefined;
}

/** Seal entries up to a head, a page at a time. */
export async function listSeals(
  tx: Executor,
  afterSeq: number,
  upTo: number,
): Promise<{ seq: number; details: string | null }[]> {
  return tx
    .selectFrom('audit_entries')
    .select(['seq', 'details'])
    .where('action', '=', SEAL_ACTION)
    .where('seq', '>', afterSeq)
    .where('seq', '<=', upTo)
    .orderBy('seq')
    .limit(200)
    .execute();
}

type Eb = ExpressionBuilder<Database, 'predictions'>;

const after = (eb: Eb, k: LogKey, orEqual: boolean): Expression<SqlBool> =>
  eb.or([
    eb('served_at', '>', k.servedAt),
    eb.and([eb('served_at', '=', k.servedAt), eb('id', orEqual ? '>=' : '>', k.id)]),
  ]);
const before = (eb: Eb, k: LogKey, orEqual: boolean): Expression<SqlBool> =>
  eb.or([
    eb('served_at', '<', k.servedAt),
    eb.and([eb('served_at', '=', k.servedAt), eb('id', orEqual ? '<=' : '<', k.id)]),
  ]);

/** Rows after `from` (exclusive) served before `servedBefore`, oldest first. */
export async function listUnsealed(
  tx: Executor,
  from: LogKey | null,
  servedBefore: number,
  limit: number,
): Promise<PredictionTable[]> {
  return tx
    .selectFrom('predictions')
    .selectAll()
    .where((eb) =>
      from
        ? eb.and([after(eb, from, false), eb('served_at', '<', servedBefore)])
        : eb('served_at', '<', servedBefore),
    )
    .orderBy('served_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** Rows from `first` to `last`, both inclusive, oldest first. */
export async function listRange(tx: Executor, first: LogKey, last: LogKey): Promise<PredictionTable[]> {
  return tx
    .selectFrom('predictions')
    .selectAll()
    .where((eb) => eb.and([after(eb, first, true), before(eb, last, true)]))
    .orderBy('served_at')
    .orderBy('id')
    .execute();
}

/** How many rows lie after `from` (exclusive; null: from the start) up to `to` (inclusive). */
export async function countRange(tx: Executor, from: LogKey | null, to: LogKey): Promise<number> {
  const row = await tx
    .selectFrom('predictions')
    .select(sql<number | string>`count(*)`.as('n'))
    .where((eb) => (from ? eb.and([after(eb, from, false), before(eb, to, true)]) : before(eb, to, true)))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The audit action of a sealed segment of the prediction log (written by serving when it seals one). */
export const SEGMENT_SEAL_ACTION = 'predictions.segment.sealed';

/** The audit action of `predictions prune` (its details list the segments it dropped). */
export const SEGMENT_PRUNE_ACTION = 'predictions.prune';

/** Segment seal and prune entries up to a head, a page at a time. */
export async function listSegmentSeals(
  tx: Executor,
  afterSeq: number,
  upTo: number,
): Promise<{ seq: number; action: string; entity_id: string; details: string | null }[]> {
  return tx
    .selectFrom('audit_entries')
    .select(['seq', 'action', 'entity_id', 'details'])
    .where('action', 'in', [SEGMENT_SEAL_ACTION, SEGMENT_PRUNE_ACTION])
    .where('seq', '>', afterSeq)
    .where('seq', '<=', upTo)
    .orderBy('seq')
    .limit(200)
    .execute();
}

/** The index rows of sealed (and pruned) segments. */
export async function listSealedSegments(tx: Executor) {
  return tx
    .selectFrom('prediction_segments')
    .select(['id', 'state', 'row_count', 'blob_key', 'min_id', 'max_id', 'first_at', 'last_at'])
    .where('state', 'in', ['sealed', 'pruned'])
    .execute();
}
