import { type BulkColumn, type Db, type Dialect, type Executor, inTransaction } from '../../store/index.js';
import type { PredictionLabelTable, PredictionTable } from '../../store/schema-serving.js';
import { type Cell, PREDICTION_COLUMNS } from './prediction-row.js';

/*
 * Queries of the prediction log and its labels. The ledger writes a group in one statement (or one
 * transaction); ON CONFLICT DO NOTHING makes a retried group (a commit whose answer was lost) idempotent.
 */

/** The columns of a prediction row with their PostgreSQL types, in PREDICTION_COLUMNS order. */
const PREDICTION_BULK_COLUMNS: readonly BulkColumn[] = PREDICTION_COLUMNS.map((name) => ({
  name,
  pgType: name === 'version' || name === 'latency_us' ? 'integer' : name === 'served_at' ? 'bigint' : 'text',
}));

/** Inserts a group of flattened prediction rows (row-major cells) in one transaction. */
export async function insertPredictionCells({
  db,
  cells,
  dialect,
}: {
  db: Db;
  cells: Cell[];
  dialect: Dialect;
}): Promise<void> {
  await inTransaction(db, (tx) =>
    dialect.insertMany(tx, {
      table: 'predictions',
      columns: PREDICTION_BULK_COLUMNS,
      cells,
      ignoreConflictOn: 'id',
    }),
  );
}

/** A logged prediction with its label columns (null when no feedback arrived). */
export type PredictionWithLabelRow = PredictionTable & {
  label: string | null;
  label_received_at: number | null;
};

export interface PredictionFilter {
  deploymentId?: string | undefined;
  /** Deployments by name: every deployment that ever had it (a deleted one gave its name up). */
  deploymentName?: string | undefined;
  modelVersionId?: string | undefined;
  model?: string | undefined;
  version?: number | undefined;
  /** Inclusive, epoch ms. */
  since?: number | undefined;
  /** Exclusive, epoch ms. */
  until?: number | undefined;
  /**
   * Failed predictions (an external model server failed; no output) too: listings, exports and
   * lookups by id want them; monitoring scans and counts leave them out (the default).
   */
  includeFailed?: boolean | undefined;
  /** Only the failed ones. */
  failedOnly?: boolean | undefined;
}

function selectPredictions(tx: Executor, f: PredictionFilter, labelledOnly: boolean) {
  let q = (
    labelledOnly
      ? tx.selectFrom('predictions as p').innerJoin('prediction_labels as l', 'l.prediction_id', 'p.id')
      : tx.selectFrom('predictions as p').leftJoin('prediction_labels as l', 'l.prediction_id', 'p.id')
  )
    .selectAll('p')
    .select(['l.label as label', 'l.received_at as label_received_at']);
  if (f.deploymentId !== undefined) q = q.where('p.deployment_id', '=', f.deploymentId);
  if (f.deploymentName !== undefined)
    q = q.where('p.deployment_id', 'in', (eb) =>
      eb
        .selectFrom('deployments')
        .select('id')
        .where('name', '=', f.deploymentName as string),
    );
  if (f.modelVersionId !== undefined) q = q.where('p.model_version_id', '=', f.modelVersionId);
  if (f.model !== undefined) q = q.where('p.model', '=', f.model);
  if (f.version !== undefined) q = q.where('p.version', '=', f.version);
  if (f.since !== undefined) q = q.where('p.served_at', '>=', f.since);
  if (f.until !== undefined) q = q.where('p.served_at', '<', f.until);
  if (f.failedOnly === true) q = q.where('p.error', 'is not', null);
  else if (f.includeFailed !== true) q = q.where('p.error', 'is', null);
  return q;
}

/** One prediction with its label. */
export async function findPredictionRow({
  tx,
  id,
}: {
  tx: Executor;
  id: string;
}): Promise<PredictionWithLabelRow | undefined> {
  return (await selectPredictions(tx, { includeFailed: true }, false)
    .where('p.id', '=', id)
    .executeTakeFirst()) as PredictionWithLabelRow | undefined;
}

/**
 * A page in (served_at, id) order: newest first for listings, oldest first for monitoring scans;
 * `after` is the previous page's last row (keyset paging, so pages never shift under new rows).
 */
export async function pagePredictionRows({
  tx,
  filter,
  order,
  after,
  limit,
  labelledOnly = false,
}: {
  tx: Executor;
  filter: PredictionFilter;
  order: 'newest' | 'oldest';
  after?: { servedAt: number; id: string } | undefined;
  limit: number;
  labelledOnly?: boolean;
}): Promise<PredictionWithLabelRow[]> {
  const past = order === 'newest' ? '<' : '>';
  const direction = order === 'newest' ? 'desc' : 'asc';
  // The cursor narrows the time bound itself: with two lower bounds (since, and an OR on the cursor)
  // SQLite ranges the index from `since`, so every page of a long scan re-read it from the window's
  // start (quadratic in pages).
  const narrowed: PredictionFilter = !after
    ? filter
    : order === 'oldest'
      ? { ...filter, since: Math.max(filter.since ?? after.servedAt, after.servedAt) }
      : { ...filter, until: Math.min(filter.until ?? after.servedAt + 1, after.servedAt + 1) };
  let q = selectPredictions(tx, narrowed, labelledOnly);
  if (after)
    q = q.where((eb) =>
      eb.or([
        eb('p.served_at', past, after.servedAt),
        eb.and([eb('p.served_at', '=', after.servedAt), eb('p.id', past, after.id)]),
      ]),
    );
  return (await q
    .orderBy('p.served_at', direction)
    .orderBy('p.id', direction)
    .limit(limit)
    .execute()) as PredictionWithLabelRow[];
}

/** How many predictions match a filter. */
export async function countPredictionRows({
  tx,
  filter,
  labelledOnly = false,
}: {
  tx: Executor;
  filter: PredictionFilter;
  labelledOnly?: boolean;
}): Promise<number> {
  const row = await selectPredictions(tx, filter, labelledOnly)
    .clearSelect()
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The deployment and model version of each known prediction id. */
export async function findPredictionOwners({
  tx,
  ids,
}: {
  tx: Executor;
  ids: string[];
}): Promise<Map<string, { deployment_id: string; model_version_id: string; error: string | null }>> {
  const out = new Map<string, { deployment_id: string; model_version_id: string; error: string | null }>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .selectFrom('predictions')
      .select(['id', 'deployment_id', 'model_version_id', 'error'])
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows)
      out.set(r.id, {
        deployment_id: r.deployment_id,
        model_version_id: r.model_version_id,
        error: r.error ?? null,
      });
  }
  return out;
}

/**
 * The classes each prediction's model answered with (the keys of its outputs' probabilities), for
 * the ids whose model is a classifier of more than two classes.
 */
export async function findMulticlassPredictionClasses({
  tx,
  ids,
}: {
  tx: Executor;
  ids: string[];
}): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .selectFrom('predictions')
      .select(['id', 'outputs'])
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) {
      const probabilities = (JSON.parse(r.outputs) as { probabilities?: Record<string, number> } | null)
        ?.probabilities;
      const classes = probabilities ? Object.keys(probabilities) : [];
      if (classes.length > 2) out.set(r.id, classes);
    }
  }
  return out;
}

/** Inserts labels that are not there yet; returns the ids it inserted (the others already had one). */
export async function insertLabels({
  tx,
  rows,
}: {
  tx: Executor;
  rows: PredictionLabelTable[];
}): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (let i = 0; i < rows.length; i += 500) {
    const got = await tx
      .insertInto('prediction_labels')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) => oc.column('prediction_id').doNothing())
      .returning('prediction_id')
      .execute();
    for (const r of got) inserted.add(r.prediction_id);
  }
  return inserted;
}

/** The stored label (JSON text) of each prediction id that has one. */
export async function findLabels({ tx, ids }: { tx: Executor; ids: string[] }): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .selectFrom('prediction_labels')
      .select(['prediction_id', 'label'])
      .where('prediction_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.prediction_id, r.label);
  }
  return out;
}

/** The label rows (label and time received) of each prediction id that has one. */
export async function findLabelRows({
  tx,
  ids,
}: {
  tx: Executor;
  ids: string[];
}): Promise<Map<string, { label: string; received_at: number }>> {
  const out = new Map<string, { label: string; received_at: number }>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await tx
      .selectFrom('prediction_labels')
      .select(['prediction_id', 'label', 'received_at'])
      .where('prediction_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.prediction_id, { label: r.label, received_at: Number(r.received_at) });
  }
  return out;
}

/**
 * The labels of a deployment's predictions whose ids lie in [minId, maxId] (a sealed segment's id
 * range: one range of the primary key instead of a lookup per row).
 */
export async function findLabelRowsInIdRange({
  tx,
  deploymentIds,
  minId,
  maxId,
}: {
  tx: Executor;
  deploymentIds: string[] | undefined;
  minId: string;
  maxId: string;
}): Promise<{ prediction_id: string; label: string; received_at: number }[]> {
  let q = tx
    .selectFrom('prediction_labels')
    .select(['prediction_id', 'label', 'received_at'])
    .where('prediction_id', '>=', minId)
    .where('prediction_id', '<=', maxId);
  if (deploymentIds !== undefined) {
    if (deploymentIds.length === 0) return [];
    q = q.where('deployment_id', 'in', deploymentIds);
  }
  const rows = await q.execute();
  return rows.map((r) => ({ ...r, received_at: Number(r.received_at) }));
}

/** The first and last served_at of the rows matching a filter; undefined when none does. */
export async function predictionTimeRange({
  tx,
  filter,
}: {
  tx: Executor;
  filter: PredictionFilter;
}): Promise<{ first: number; last: number } | undefined> {
  const row = await selectPredictions(tx, filter, false)
    .clearSelect()
    .select((eb) => [eb.fn.min('p.served_at').as('first'), eb.fn.max('p.served_at').as('last')])
    .executeTakeFirst();
  if (row?.first === null || row?.first === undefined || row.last === null) return undefined;
  return { first: Number(row.first), last: Number(row.last) };
}

/** The ids of the deployments that ever had a name. */
export async function deploymentIdsNamed({ tx, name }: { tx: Executor; name: string }): Promise<string[]> {
  const rows = await tx.selectFrom('deployments').select('id').where('name', '=', name).execute();
  return rows.map((r) => r.id);
}

/** Predictions (failed ones included) per deployment and answering model version served in [from, to). */
export async function countRowsByVersion({
  tx,
  from,
  to,
  deploymentId,
}: {
  tx: Executor;
  from: number;
  to: number;
  deploymentId?: string | undefined;
}): Promise<{ deploymentId: string; versionId: string; n: number }[]> {
  let q = tx
    .selectFrom('predictions')
    .select((eb) => ['deployment_id', 'model_version_id', eb.fn.countAll<number>().as('n')])
    .where('served_at', '>=', from)
    .where('served_at', '<', to);
  if (deploymentId !== undefined) q = q.where('deployment_id', '=', deploymentId);
  const rows = await q.groupBy(['deployment_id', 'model_version_id']).execute();
  return rows.map((r) => ({ deploymentId: r.deployment_id, versionId: r.model_version_id, n: Number(r.n) }));
}
