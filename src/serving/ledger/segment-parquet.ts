import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../../blobs/index.js';
import { ident, lit, withConnection } from '../../data/index.js';
import type { PredictionTable } from '../../store/schema-serving.js';
import {
  type Cell,
  flattenRows,
  PREDICTION_COLUMNS,
  PREDICTION_WIDTH,
  type StoredEntry,
} from './prediction-row.js';
import type { SealedSummary } from './segment.repo.js';
import { GROUP_COLUMN, groupedRows, heldColumns, inputGroups, inputsTexts } from './segment-inputs.js';

/*
 * Sealed segments: the rows of a segment as one Parquet file (written by DuckDB in the seal thread:
 * segment-seal-parquet.ts), stored in the blob store under its sha256. The columns are those of the `predictions` table, so a sealed segment's rows
 * read back as the same PredictionTable rows the old table gave. Readers copy a blob once into a local
 * cache folder (S3 included: DuckDB's httpfs cannot be downloaded here) and query the file.
 */

/** The Parquet column of an input feature that has a typed column. */
export const inputColumnName = (feature: string): string => `input:${feature}`;

/** The rows of a segment's groups as PredictionTable rows, in append order. */
export function rowsOfGroups(groups: StoredEntry[][]): PredictionTable[] {
  const cells = flattenRows(groups.flat());
  const out: PredictionTable[] = [];
  for (let at = 0; at < cells.length; at += PREDICTION_WIDTH) {
    const r: Record<string, Cell> = {};
    for (let c = 0; c < PREDICTION_WIDTH; c++) r[PREDICTION_COLUMNS[c] as string] = cells[at + c] ?? null;
    out.push(r as unknown as PredictionTable);
  }
  return out;
}

const ID = PREDICTION_COLUMNS.indexOf('id');
const VERSION_ID = PREDICTION_COLUMNS.indexOf('model_version_id');
const SERVED_AT = PREDICTION_COLUMNS.indexOf('served_at');
const SHADOW_VERSION_ID = PREDICTION_COLUMNS.indexOf('shadow_version_id');

/** What the index row records of rows given as flat cells (flattenRows; blob fields left empty). */
export function summarise(cells: readonly Cell[]): SealedSummary {
  let firstAt: number | null = null;
  let lastAt: number | null = null;
  let minId: string | null = null;
  let maxId: string | null = null;
  const versions = new Set<string>();
  for (let at = 0; at < cells.length; at += PREDICTION_WIDTH) {
    const servedAt = cells[at + SERVED_AT] as number;
    const id = cells[at + ID] as string;
    if (firstAt === null || servedAt < firstAt) firstAt = servedAt;
    if (lastAt === null || servedAt > lastAt) lastAt = servedAt;
    if (minId === null || id < minId) minId = id;
    if (maxId === null || id > maxId) maxId = id;
    versions.add(cells[at + VERSION_ID] as string);
    const shadow = cells[at + SHADOW_VERSION_ID];
    if (shadow) versions.add(shadow as string);
  }
  return {
    rowCount: cells.length / PREDICTION_WIDTH,
    modelVersionIds: [...versions].sort(),
    firstAt,
    lastAt,
    minId,
    maxId,
    blobKey: null,
    bytes: null,
  };
}

/** Where `localParquet` keeps its copy of a sealed segment's blob. */
export function cachedParquetPath(cacheDir: string, blobKey: string): string {
  return path.join(cacheDir, `${blobKey}.parquet`);
}

/** The local copy of a sealed segment's Parquet blob (copied into `cacheDir` on first use, verified). */
export async function localParquet(blobs: BlobStore, blobKey: string, cacheDir: string): Promise<string> {
  const file = cachedParquetPath(cacheDir, blobKey);
  try {
    await stat(file);
    return file;
  } catch {
    // Not cached yet.
  }
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await pipeline(await blobs.get(blobKey), createWriteStream(tmp));
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}

/** SQL conditions on a Parquet file of prediction rows. */
export interface ParquetWhere {
  id?: string | undefined;
  ids?: string[] | undefined;
  since?: number | undefined;
  until?: number | undefined;
  modelVersionId?: string | undefined;
  deploymentIds?: string[] | undefined;
  model?: string | undefined;
  version?: number | undefined;
  /** 'exclude': answered ones only; 'only': failed ones only; undefined: both. */
  failed?: 'exclude' | 'only' | undefined;
  /** Keyset cursor: rows strictly past it in `order`. */
  after?: { servedAt: number; id: string } | undefined;
  /** Rows in (served_at, id) order, oldest or newest first (with `limit`: the first `limit` of them). */
  order?: 'oldest' | 'newest' | undefined;
  limit?: number | undefined;
}

/** The SQL conditions of `where` (undefined: no row can match). */
export function parquetConditions(where: ParquetWhere): string[] | undefined {
  const conds: string[] = [];
  if (where.id !== undefined) conds.push(`id = ${lit(where.id)}`);
  if (where.ids !== undefined) {
    if (where.ids.length === 0) return undefined;
    conds.push(`id IN (${where.ids.map(lit).join(', ')})`);
  }
  if (where.deploymentIds !== undefined) {
    if (where.deploymentIds.length === 0) return undefined;
    conds.push(`deployment_id IN (${where.deploymentIds.map(lit).join(', ')})`);
  }
  if (where.since !== undefined) conds.push(`served_at >= ${Math.floor(where.since)}`);
  if (where.until !== undefined) conds.push(`served_at < ${Math.floor(where.until)}`);
  if (where.modelVersionId !== undefined) conds.push(`model_version_id = ${lit(where.modelVersionId)}`);
  if (where.model !== undefined) conds.push(`model = ${lit(where.model)}`);
  if (where.version !== undefined) conds.push(`version = ${Math.floor(where.version)}`);
  if (where.failed === 'exclude') conds.push('error IS NULL');
  if (where.failed === 'only') conds.push('error IS NOT NULL');
  if (where.after !== undefined) {
    const op = where.order === 'newest' ? '<' : '>';
    const at = Math.floor(where.after.servedAt);
    // The plain bound first: DuckDB prunes row groups by it (not by the OR).
    conds.push(`served_at ${op}= ${at}`);
    conds.push(`(served_at ${op} ${at} OR (served_at = ${at} AND id ${op} ${lit(where.after.id)}))`);
  }
  return conds;
}

const numberOrNull = (v: unknown): number | null =>
  v === null || v === undefined ? null : typeof v === 'bigint' ? Number(v) : (v as number);

const INPUTS = PREDICTION_COLUMNS.indexOf('inputs');

/**
 * Reads the rows of Parquet files matching the conditions, as PredictionTable rows: a row sealed
 * without its inputs text gets it back from its typed input columns (segment-inputs.ts).
 */
export async function readParquetRows(files: string[], where: ParquetWhere): Promise<PredictionTable[]> {
  const conds = parquetConditions(where);
  if (files.length === 0 || !conds) return [];
  const dir = where.order === 'newest' ? 'DESC' : 'ASC';
  return withConnection(async (c) => {
    const groups = await inputGroups(c, files);
    const cols = [...PREDICTION_COLUMNS, GROUP_COLUMN, ...heldColumns(groups)].map(ident);
    const sql =
      `SELECT ${cols.join(', ')} FROM (${groupedRows(groups, conds, PREDICTION_COLUMNS.map(ident), true)})` +
      (where.order !== undefined ? ` ORDER BY served_at ${dir}, id ${dir}` : '') +
      (where.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(where.limit))}` : '');
    const result = await c.run(sql);
    const out: PredictionTable[] = [];
    for (let k = 0; k < result.chunkCount; k++) {
      const chunk = result.getChunk(k);
      const inputs = inputsTexts(chunk, groups, INPUTS, PREDICTION_WIDTH);
      const vectors = PREDICTION_COLUMNS.map((_, j) => chunk.getColumnVector(j));
      for (let i = 0; i < chunk.rowCount; i++) {
        const r: Record<string, unknown> = {};
        for (let j = 0; j < PREDICTION_WIDTH; j++)
          r[PREDICTION_COLUMNS[j] as string] = vectors[j]?.getItem(i);
        r.inputs = inputs[i];
        r.version = numberOrNull(r.version);
        r.served_at = numberOrNull(r.served_at);
        r.latency_us = numberOrNull(r.latency_us);
        out.push(r as unknown as PredictionTable);
      }
    }
    return out;
  });
}

/** How many rows of Parquet files match the conditions (DuckDB counts; no row is read into memory). */
export async function countParquetMatching(files: string[], where: ParquetWhere): Promise<number> {
  const conds = parquetConditions(where);
  if (files.length === 0 || !conds) return 0;
  const sql = `SELECT count(*) AS n FROM read_parquet([${files.map(lit).join(', ')}])${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}`;
  const rows = await withConnection(async (c) => (await c.runAndReadAll(sql)).getRowObjectsJS());
  return Number(rows[0]?.n ?? 0);
}

/** Rows per (deployment, model version) of Parquet files served in [since, until). */
export async function countParquetRows(
  files: string[],
  since: number,
  until: number,
): Promise<{ deploymentId: string; versionId: string; n: number }[]> {
  if (files.length === 0) return [];
  const sql = `SELECT deployment_id, model_version_id, count(*) AS n FROM read_parquet([${files.map(lit).join(', ')}]) WHERE served_at >= ${Math.floor(since)} AND served_at < ${Math.floor(until)} GROUP BY 1, 2`;
  const rows = await withConnection(async (c) => (await c.runAndReadAll(sql)).getRowObjectsJS());
  return rows.map((r) => ({
    deploymentId: String(r.deployment_id),
    versionId: String(r.model_version_id),
    n: Number(r.n),
  }));
}
