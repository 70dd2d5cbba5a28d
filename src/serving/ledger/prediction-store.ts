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
  findPredictionRow,
  type PredictionFilter,
  type PredictionWithLabelRow,
  pagePredictionRows,
} from './prediction.repo.js';

/*
 * The read side of the prediction log. Listings page newest first by (served_at, id) with an opaque
 * keyset cursor, so a page never shifts when new predictions arrive; monitoring scans walk oldest
 * first. Time windows are [since, until): since inclusive, until exclusive.
 */

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
export function createPredictionStore(deps: { db: Db; clock: Clock }) {
  const { db } = deps;

  async function find(id: string): Promise<Prediction | undefined> {
    const row = await findPredictionRow({ tx: db, id });
    return row ? toPrediction(row) : undefined;
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
      return countPredictionRows({
        tx: db,
        filter: { ...filterOf(q), includeFailed: false },
        labelledOnly: q.labelledOnly === true,
      });
    },
    /** Newest first by (servedAt, id); `nextCursor` is null on the last page. */
    async list(q: ListPredictionsInput): Promise<{ predictions: Prediction[]; nextCursor: string | null }> {
      const limit = limitOf(q.limit);
      const rows = await pagePredictionRows({
        tx: db,
        filter: filterOf(q),
        order: 'newest',
        after: q.cursor ? decodeCursor(q.cursor) : undefined,
        limit: limit + 1,
      });
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
      let after: { servedAt: number; id: string } | undefined;
      for (;;) {
        const rows = await pagePredictionRows({
          tx: db,
          filter,
          order: 'oldest',
          after,
          limit,
          labelledOnly: q.labelledOnly === true,
        });
        if (rows.length > 0) yield rows.map(toPrediction);
        const last = rows[rows.length - 1];
        if (rows.length < limit || !last) return;
        after = { servedAt: Number(last.served_at), id: last.id };
      }
    },
  };
}

export type PredictionStore = ReturnType<typeof createPredictionStore>;
