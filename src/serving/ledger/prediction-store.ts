import { type Clock, toIso } from '../../core/clock.js';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import type { Db } from '../../store/index.js';
import type {
  ListPredictionsQuery,
  Prediction,
  PredictionOutput,
  PredictionRole,
} from '../serving.schema.js';
import {
  countPredictionRows,
  countRowsByVersion,
  findLabelRows,
  findPredictionRow,
  type PredictionFilter,
  type PredictionWithLabelRow,
  pagePredictionRows,
} from './prediction.repo.js';
import { type PredictionColumnQuery, scanColumns } from './prediction-column-scan.js';
import type { PredictionColumns } from './prediction-columns.js';
import { compareKeys, mergeSorted } from './row-order.js';
import type { SegmentReader } from './segment-reader.js';
import { countSegmentRows, segmentPage } from './segment-rows.js';

/*
 * The read side of the prediction log. Listings page newest first by (served_at, id) with an opaque
 * keyset cursor, so a page never shifts when new predictions arrive; monitoring scans walk oldest
 * first. Time windows are [since, until): since inclusive, until exclusive.
 *
 * The log has two parts read as one: the `predictions` table (rows logged before the segment log,
 * and by ledgers that still write the table) and the segments (segment-reader.ts). Every read merges
 * both in (served_at, id) order, a page at a time: a listing reads a page from each, a scan walks both
 * page by page, a count counts in the database and in DuckDB. Memory holds pages, never the window.
 */

type Cursor = { servedAt: number; id: string };

/** A source read a page at a time past a keyset cursor; a short page is its last. */
function pagedSource(read: (after: Cursor | undefined) => Promise<PredictionWithLabelRow[]>, limit: number) {
  let buf: PredictionWithLabelRow[] = [];
  let at = 0;
  let after: Cursor | undefined;
  let done = false;
  return {
    /** The next row (reading the next page when needed), or undefined at the end. */
    async peek(): Promise<PredictionWithLabelRow | undefined> {
      if (at < buf.length) return buf[at];
      if (done) return undefined;
      buf = await read(after);
      at = 0;
      done = buf.length < limit;
      const last = buf[buf.length - 1];
      if (last) after = { servedAt: Number(last.served_at), id: last.id };
      return buf[at];
    },
    take(): void {
      at++;
    },
  };
}

export interface PredictionScanQuery {
  deploymentId?: string | undefined;
  modelVersionId?: string | undefined;
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  /** Epoch ms, exclusive. */
  until?: number | undefined;
  /** Rows per page (default 1000). */
  batchSize?: number | undefined;
  /** Only predictions that have a label (accuracy monitoring). */
  labelledOnly?: boolean | undefined;
  /** Failed predictions too (exports); monitoring scans leave them out (the default). */
  includeFailed?: boolean | undefined;
}

export type ListPredictionsInput = ListPredictionsQuery & {
  deploymentId?: string | undefined;
  modelVersionId?: string | undefined;
};

const parseJson = <T>(text: string): T => JSON.parse(text) as T;

/** A stored row as the API shows it. */
export function toPrediction(r: PredictionWithLabelRow): Prediction {
  return {
    id: r.id,
    deploymentId: r.deployment_id,
    modelVersionId: r.model_version_id,
    model: r.model,
    version: Number(r.version),
    alias: r.alias,
    role: r.role as PredictionRole,
    servedAt: toIso(Number(r.served_at)),
    requestKey: r.request_key,
    inputs: parseJson<Record<string, unknown>>(r.inputs),
    outputs: parseJson<PredictionOutput | null>(r.outputs),
    status: r.error === null || r.error === undefined ? 'ok' : 'failed',
    error:
      r.error === null || r.error === undefined
        ? null
        : parseJson<{ code: string; message: string }>(r.error),
    latencyMs: Number(r.latency_us) / 1000,
    shadow:
      r.shadow_version_id === null
        ? null
        : {
            modelVersionId: r.shadow_version_id,
            outputs: r.shadow_outputs === null ? null : parseJson<PredictionOutput>(r.shadow_outputs),
            error: r.shadow_error,
          },
    label:
      r.label === null
        ? null
        : {
            value: parseJson<number | string | boolean>(r.label),
            receivedAt: toIso(Number(r.label_received_at)),
          },
  };
}

function encodeCursor(r: { served_at: number; id: string }): string {
  return Buffer.from(`${Number(r.served_at)}.${r.id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { servedAt: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^(\d{1,16})\.(pred_[0-9a-z]{1,60})$/.exec(text);
  if (!m?.[1] || !m[2])
    throw new ValidationError('cursor: not a cursor this listing returned', { field: 'cursor' });
  return { servedAt: Number(m[1]), id: m[2] };
}

function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new ValidationError(`${field}: expected an ISO-8601 time, got '${value}'`, { field });
  return ms;
}

function filterOf(q: ListPredictionsInput): PredictionFilter {
  const f: PredictionFilter = {
    deploymentId: q.deploymentId,
    modelVersionId: q.modelVersionId,
    since: parseTime(q.since, 'since'),
    until: parseTime(q.until, 'until'),
    includeFailed: q.status !== 'ok',
    failedOnly: q.status === 'failed',
  };
  if (q.deployment !== undefined) {
    if (q.deployment.startsWith('dep_')) f.deploymentId = q.deployment;
    else f.deploymentName = q.deployment;
  }
  if (q.modelVersion !== undefined) {
    const m = /^(.+)@(\d+)$/.exec(q.modelVersion);
    if (q.modelVersion.startsWith('mv_')) f.modelVersionId = q.modelVersion;
    else if (m?.[1] && m[2]) {
      f.model = m[1];
      f.version = Number(m[2]);
    } else
      throw new ValidationError(
        `modelVersion: expected <model>@<version number> or a model version id, got '${q.modelVersion}'`,
        { field: 'modelVersion' },
      );
  }
  return f;
}

function limitOf(value: unknown): number {
  if (value === undefined) return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new ValidationError('limit: expected an integer from 1 to 1000', { field: 'limit' });
  return n;
}

/** Reads the prediction log: one prediction, pages for listings (newest first), scans for monitoring (oldest first). */
export function createPredictionStore(deps: { db: Db; clock: Clock; segments: SegmentReader }) {
  const { db, segments } = deps;

  async function find(id: string): Promise<Prediction | undefined> {
    const row = await findPredictionRow({ tx: db, id });
    if (row) return toPrediction(row);
    const [fromSegment] = await segmentRowsOf([id]);
    return fromSegment ? toPrediction(fromSegment) : undefined;
  }

  /** The rows of these ids the segments hold, labels joined. */
  async function segmentRowsOf(ids: string[]): Promise<PredictionWithLabelRow[]> {
    const rows = await segments.findMany(ids);
    if (rows.length === 0) return [];
    const labels = await findLabelRows({ tx: db, ids: rows.map((r) => r.id) });
    return rows.map((r) => {
      const l = labels.get(r.id);
      return { ...r, label: l?.label ?? null, label_received_at: l?.received_at ?? null };
    });
  }

  return {
    find,
    /** The prediction with its label, if any; NotFoundError naming the id. */
    async get(id: string): Promise<Prediction> {
      const p = await find(id);
      if (!p) throw new NotFoundError('prediction', id);
      return p;
    },
    /** How many answered predictions match (every one, or only those with a label); status 'failed' counts the failed ones. */
    async count(q: ListPredictionsInput & { labelledOnly?: boolean | undefined }): Promise<number> {
      const filter = { ...filterOf(q), includeFailed: false };
      const labelledOnly = q.labelledOnly === true;
      const [inTable, inSegments] = await Promise.all([
        countPredictionRows({ tx: db, filter, labelledOnly }),
        countSegmentRows({ tx: db, segments, filter, labelledOnly }),
      ]);
      return inTable + inSegments;
    },
    /** Predictions per deployment and answering model version served in [from, to), failed ones included (cost). */
    async countByVersion(q: { from: number; to: number; deploymentId?: string | undefined }) {
      const [inTable, inSegments] = await Promise.all([
        countRowsByVersion({ tx: db, ...q }),
        segments.countByVersion({ since: q.from, until: q.to, deploymentId: q.deploymentId }),
      ]);
      const out = new Map<string, { deploymentId: string; versionId: string; n: number }>();
      for (const c of [...inTable, ...inSegments]) {
        const k = `${c.deploymentId}\u0000${c.versionId}`;
        const had = out.get(k);
        if (had) had.n += c.n;
        else out.set(k, { ...c });
      }
      return [...out.values()].sort((a, b) =>
        a.deploymentId === b.deploymentId
          ? a.versionId < b.versionId
            ? -1
            : 1
          : a.deploymentId < b.deploymentId
            ? -1
            : 1,
      );
    },
    /** Every prediction of a deployment served in [since, until), failed ones included (exports). */
    async countWindow(w: { deploymentId: string; since?: number | undefined; until?: number | undefined }) {
      const filter: PredictionFilter = { ...w, includeFailed: true };
      const [inTable, inSegments] = await Promise.all([
        countPredictionRows({ tx: db, filter }),
        countSegmentRows({ tx: db, segments, filter }),
      ]);
      return inTable + inSegments;
    },
    /** Newest first by (servedAt, id); `nextCursor` is null on the last page. */
    async list(q: ListPredictionsInput): Promise<{ predictions: Prediction[]; nextCursor: string | null }> {
      const limit = limitOf(q.limit);
      const filter = filterOf(q);
      const after = q.cursor ? decodeCursor(q.cursor) : undefined;
      const [inTable, inSegments] = await Promise.all([
        pagePredictionRows({ tx: db, filter, order: 'newest', after, limit: limit + 1 }),
        segmentPage({ tx: db, segments, filter, order: 'newest', after, limit: limit + 1 }),
      ]);
      const rows = mergeSorted(inTable, inSegments, 'newest', limit + 1);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        predictions: page.map(toPrediction),
        nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
      };
    },
    /** Pages oldest first by (servedAt, id), each read when the consumer asks for it. */
    async *scan(q: PredictionScanQuery): AsyncIterable<Prediction[]> {
      const limit = Math.max(1, Math.min(10_000, q.batchSize ?? 1000));
      const filter: PredictionFilter = {
        deploymentId: q.deploymentId,
        modelVersionId: q.modelVersionId,
        since: q.since,
        until: q.until,
        includeFailed: q.includeFailed,
      };
      const labelledOnly = q.labelledOnly === true;
      // Both parts page oldest first, each a page ahead at most; the scan merges them.
      const table = pagedSource(
        (after) => pagePredictionRows({ tx: db, filter, order: 'oldest', after, limit, labelledOnly }),
        limit,
      );
      const fromSegments = pagedSource(
        (after) => segmentPage({ tx: db, segments, filter, labelledOnly, order: 'oldest', after, limit }),
        limit,
      );
      for (;;) {
        const page: PredictionWithLabelRow[] = [];
        while (page.length < limit) {
          const a = await table.peek();
          const b = await fromSegments.peek();
          if (!a && !b) break;
          if (a && (!b || compareKeys(a, b) <= 0)) {
            page.push(a);
            table.take();
          } else if (b) {
            page.push(b);
            fromSegments.take();
          }
        }
        if (page.length === 0) return;
        yield page.map(toPrediction);
        if (page.length < limit) return;
      }
    },
    /**
     * The rows `scan` yields (answered predictions, oldest first, labels joined) as pages of columns:
     * a Float64Array per numeric feature from the sealed segments' typed columns (what monitoring reads).
     */
    scanColumns(q: PredictionColumnQuery): AsyncIterable<PredictionColumns> {
      return scanColumns({ db, segments }, q);
    },
  };
}

export type PredictionStore = ReturnType<typeof createPredictionStore>;
