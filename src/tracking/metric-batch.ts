import { createHash } from 'node:crypto';
import { ValidationError } from '../core/errors.js';
import type { LatestMetricTable } from '../store/index.js';
import { type LogBatch, MAX_TIMESTAMP_MS, stepSchema, timestampSchema } from './tracking.schema.js';

/*
 * A log-batch's metrics turned into what the transaction writes, in one pass over the batch and before
 * the transaction (which holds the write lock): the history INSERT's parameters, each key's latest
 * value, and the digest the audit entry records. No object is built per metric.
 */

/** Refuses a time or step outside what is stored exactly (both API styles reach the service). */
export function checkNumber(schema: typeof timestampSchema, value: number | undefined, field: string): void {
  if (value === undefined) return;
  const r = schema.safeParse(value);
  if (!r.success)
    throw new ValidationError(`${field}: ${r.error.issues[0]?.message ?? 'invalid'} (got ${value})`, {
      field,
    });
}

// Plain checks first: zod per number costs more than the insert on a 1,000-metric batch. A value
// that fails them goes through the schema, which words the error.
const isTimestamp = (v: number) => Number.isInteger(v) && v >= 0 && v <= MAX_TIMESTAMP_MS;
const isStep = (v: number) => Number.isSafeInteger(v);

export interface MetricRows {
  /**
   * The history INSERT's parameters, six a row: run_num, key_id, value, is_nan, timestamp, step. The
   * two surrogate keys are known inside the transaction only: bindSurrogateKeys fills them in.
   */
  cells: unknown[];
  /** Each row's key name. */
  keys: string[];
  /** Each key's latest row of the batch, in MLflow's (step, timestamp, value) order. */
  latest: LatestMetricTable[];
  /** sha256 of the batch's content (see batchDigest). */
  digest: string;
}

/**
 * Builds a batch's metric rows; `now` stands in for a missing timestamp. Throws a ValidationError
 * naming `metrics[i].timestamp` or `.step` for a number that cannot be stored exactly.
 */
export function metricRows(runId: string, batch: LogBatch, now: number): MetricRows {
  const metrics = batch.metrics;
  const n = metrics.length;
  const cells = new Array<unknown>(n * 6);
  // What the digest covers: each row's key, and its value, timestamp and step as float64s.
  const keys = new Array<string>(n);
  const numbers = new Float64Array(n * 3);
  // Each key's best row so far, by index (a row's cells are read back from `cells`).
  const best = new Map<string, number>();
  for (let i = 0, c = 0; i < n; i++, c += 6) {
    const m = metrics[i]!;
    const step = m.step ?? 0;
    if (m.timestamp !== undefined && !isTimestamp(m.timestamp))
      checkNumber(timestampSchema, m.timestamp, `metrics[${i}].timestamp`);
    if (!isStep(step)) checkNumber(stepSchema, step, `metrics[${i}].step`);
    const nan = Number.isNaN(m.value);
    const value = nan ? null : m.value;
    const isNan = nan ? 1 : 0;
    const timestamp = m.timestamp ?? now;
    cells[c + 2] = value;
    cells[c + 3] = isNan;
    cells[c + 4] = timestamp;
    cells[c + 5] = step;
    keys[i] = m.key;
    numbers[i * 3] = m.value;
    numbers[i * 3 + 1] = timestamp;
    numbers[i * 3 + 2] = step;
    const b = best.get(m.key);
    if (b === undefined || isLater(cells, c, b * 6)) best.set(m.key, i);
  }
  const latest: LatestMetricTable[] = [];
  for (const i of best.values()) {
    const c = i * 6;
    latest.push({
      run_id: runId,
      key: keys[i]!,
      value: cells[c + 2] as number | null,
      is_nan: cells[c + 3] as number,
      timestamp: cells[c + 4] as number,
      step: cells[c + 5] as number,
    });
  }
  return { cells, keys, latest, digest: batchDigest(batch, keys, numbers) };
}

/** Fills in each row's run number and key id (keyIds holds an id for every key of the batch). */
export function bindSurrogateKeys(rows: MetricRows, runNum: number, keyIds: Map<string, number>): void {
  const { cells, keys } = rows;
  for (let i = 0, c = 0; i < keys.length; i++, c += 6) {
    cells[c] = runNum;
    cells[c + 1] = keyIds.get(keys[i]!);
  }
}

/** True when the row at cells[a] comes after the row at cells[b]: step, then timestamp, then value (NaN last). */
function isLater(cells: unknown[], a: number, b: number): boolean {
  const stepA = cells[a + 5] as number;
  const stepB = cells[b + 5] as number;
  if (stepA !== stepB) return stepA > stepB;
  const tsA = cells[a + 4] as number;
  const tsB = cells[b + 4] as number;
  if (tsA !== tsB) return tsA > tsB;
  const nanA = cells[a + 3] as number;
  const nanB = cells[b + 3] as number;
  if (nanA !== nanB) return nanA > nanB;
  return ((cells[a + 2] as number | null) ?? 0) > ((cells[b + 2] as number | null) ?? 0);
}

/**
 * The digest of a batch the audit entry records: sha256 over the params, tags and model-linked fields
 * as JSON, then the metric keys joined by newlines (a key holds none), then each metric's value,
 * timestamp and step as little-endian float64s. Deterministic for the same batch and far cheaper than
 * JSON of a thousand metrics (printing a double costs more than hashing its eight bytes).
 */
function batchDigest(batch: LogBatch, keys: string[], numbers: Float64Array): string {
  const linked = batch.metrics.filter((m) => m.modelId !== undefined || m.datasetName !== undefined);
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ params: batch.params, tags: batch.tags, linked }));
  hash.update('\n');
  hash.update(keys.join('\n'));
  hash.update('\n');
  hash.update(new Uint8Array(numbers.buffer, numbers.byteOffset, numbers.byteLength));
  return hash.digest('hex');
}
