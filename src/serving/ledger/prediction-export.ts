import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Clock, toIso } from '../../core/clock.js';
import { ValidationError } from '../../core/errors.js';
import { convertJsonlToParquet, type JsonlColumn } from '../../data/index.js';
import type { Deployment, Prediction, PredictionExportFormat } from '../serving.schema.js';
import type { PredictionStore } from './prediction-store.js';

/*
 * The prediction log of one deployment over a time window, written out for analysis elsewhere: one
 * row per prediction with its inputs, answer and (when feedback came) its label; a failed prediction
 * (its model server failed) has status 'failed', its error code and message, and no answer. Rows are read a page
 * at a time (keyset scan, oldest first) and written with the destination's backpressure, so memory
 * stays bounded however long the window. Parquet goes through a temporary JSON-lines file that DuckDB
 * converts, streaming too.
 *
 * An empty window is not an error: the export has its header (CSV) or schema (Parquet) and no rows,
 * and `count` says 0 so callers can say so.
 */

/** The columns of an export, in order, with their Parquet types (JSON keeps a value's own type). */
export const EXPORT_COLUMNS: readonly JsonlColumn[] = [
  { name: 'prediction_id', type: 'VARCHAR' },
  { name: 'served_at', type: 'TIMESTAMPTZ' },
  { name: 'deployment', type: 'VARCHAR' },
  { name: 'model', type: 'VARCHAR' },
  { name: 'version', type: 'INTEGER' },
  { name: 'alias', type: 'VARCHAR' },
  { name: 'role', type: 'VARCHAR' },
  { name: 'request_key', type: 'VARCHAR' },
  { name: 'latency_ms', type: 'DOUBLE' },
  { name: 'inputs', type: 'JSON' },
  { name: 'prediction', type: 'JSON' },
  { name: 'probabilities', type: 'JSON' },
  { name: 'outputs', type: 'JSON' },
  { name: 'label', type: 'JSON' },
  { name: 'label_received_at', type: 'TIMESTAMPTZ' },
  // Last, so that CSV readers of the earlier columns by position are unaffected.
  { name: 'status', type: 'VARCHAR' },
  { name: 'error_code', type: 'VARCHAR' },
  { name: 'error_message', type: 'VARCHAR' },
];

/** The media type each format is sent as. */
export const EXPORT_MEDIA_TYPES: Record<PredictionExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

/** What to export: a deployment's predictions served in [since, until) (epoch ms; since absent = from the start). */
export interface ExportWindow {
  deployment: Deployment;
  since?: number | undefined;
  until: number;
}

type ExportRow = Record<string, unknown>;

function exportRow(p: Prediction, deployment: string): ExportRow {
  return {
    prediction_id: p.id,
    served_at: p.servedAt,
    deployment,
    model: p.model,
    version: p.version,
    alias: p.alias,
    role: p.role,
    status: p.status,
    error_code: p.error?.code ?? null,
    error_message: p.error?.message ?? null,
    request_key: p.requestKey,
    latency_ms: p.latencyMs,
    inputs: p.inputs,
    prediction: p.outputs?.prediction ?? null,
    probabilities: p.outputs?.probabilities ?? null,
    outputs: p.outputs?.outputs ?? null,
    label: p.label?.value ?? null,
    label_received_at: p.label?.receivedAt ?? null,
  };
}

/** A CSV cell: text as it is, objects as JSON, null as empty; quoted when it holds a comma, quote or line break. */
function csvCell(v: unknown): string {
  const text = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const CSV_HEADER = `${EXPORT_COLUMNS.map((c) => c.name).join(',')}\n`;

function csvLines(rows: ExportRow[]): string {
  let out = '';
  for (const r of rows) out += `${EXPORT_COLUMNS.map((c) => csvCell(r[c.name])).join(',')}\n`;
  return out;
}

function jsonLines(rows: ExportRow[]): string {
  let out = '';
  for (const r of rows) out += `${JSON.stringify(r)}\n`;
  return out;
}

/** Writes a chunk, waiting for the destination to drain when its buffer is full. */
async function write(out: Writable, chunk: string): Promise<void> {
  if (chunk === '' || out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', onDrain);
      out.off('error', done);
      out.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the destination closed before the export ended'));
    out.once('drain', onDrain);
    out.once('error', done);
    out.once('close', onClose);
  });
}

function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new ValidationError(`${field}: expected an ISO-8601 time, got '${value}'`, { field });
  return ms;
}

/** Exports the prediction log of a deployment: resolves and counts a window, then writes it in a format to a stream. */
export function createPredictionExporter(deps: {
  clock: Clock;
  predictions: PredictionStore;
  deployments: { get(name: string): Promise<Deployment> };
}) {
  async function writeText(w: ExportWindow, format: 'csv' | 'jsonl', out: Writable): Promise<void> {
    if (format === 'csv') await write(out, CSV_HEADER);
    const encode = format === 'csv' ? csvLines : jsonLines;
    for await (const page of deps.predictions.scan({
      deploymentId: w.deployment.id,
      since: w.since,
      until: w.until,
      batchSize: 1000,
      includeFailed: true,
    })) {
      await write(out, encode(page.map((p) => exportRow(p, w.deployment.name))));
    }
  }

  return {
    /**
     * The window of a deployment (by name or id) from ISO times: `to` defaults to now, so the window
     * is closed when the export starts and its count holds. NotFoundError for an unknown deployment.
     */
    async window(q: {
      deployment: string;
      from?: string | undefined;
      to?: string | undefined;
    }): Promise<ExportWindow> {
      const since = parseTime(q.from, 'from');
      const until = parseTime(q.to, 'to') ?? deps.clock.now();
      if (since !== undefined && since >= until) {
        throw new ValidationError(`from: ${q.from} is not before ${toIso(until)} (to)`, { field: 'from' });
      }
      return { deployment: await deps.deployments.get(q.deployment), since, until };
    },
    /** Predictions in the window (read before writing: the window is closed, so it does not grow). */
    count: (w: ExportWindow) =>
      deps.predictions.countWindow({ deploymentId: w.deployment.id, since: w.since, until: w.until }),
    /** Writes the window to `out` (not ended here: the caller owns the stream). */
    async write(w: ExportWindow, format: PredictionExportFormat, out: Writable): Promise<void> {
      if (format !== 'parquet') return writeText(w, format, out);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-export-'));
      try {
        const jsonl = path.join(dir, 'rows.jsonl');
        const parquet = path.join(dir, 'rows.parquet');
        const file = createWriteStream(jsonl);
        await writeText(w, 'jsonl', file);
        await new Promise<void>((resolve, reject) =>
          file.end((err?: Error | null) => (err ? reject(err) : resolve())),
        );
        await convertJsonlToParquet(jsonl, parquet, EXPORT_COLUMNS);
        await pipeline(createReadStream(parquet), out, { end: false });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export type PredictionExporter = ReturnType<typeof createPredictionExporter>;

/** The window as text for messages: "from 2026-03-01T00:00:00.000Z to 2026-03-02T00:00:00.000Z". */
export function describeWindow(w: { since?: number | undefined; until: number }): string {
  return `${w.since === undefined ? 'from the start' : `from ${toIso(w.since)}`} to ${toIso(w.until)}`;
}
