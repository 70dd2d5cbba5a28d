import { isAppError, UpstreamError, UpstreamTimeoutError, ValidationError } from '../../core/errors.js';
import type { ModelVersion } from '../../registry/index.js';
import { readEndpointSpec } from '../gateway/index.js';
import type { ServingModel } from '../model/index.js';
import { openModelFor } from '../model-runner.js';
import type { PredictionOutput } from '../serving.schema.js';

/*
 * Batch scoring and evaluation of an external model (format 'endpoint'): the same runner that serves
 * it (openModelFor: the gateway's upstream client, with the version's timeout, retries and circuit
 * breaker), one upstream call of `batchRows` records at a time (never a burst), and the number of
 * calls checked up front against the version's scoreCallBudget, so a large dataset is never sprayed
 * at a model server by mistake. An upstream failure mid-way stops the scoring with an error naming the
 * rows scored so far; callers record nothing then (no run, no output version).
 */

export interface ExternalScoring {
  model: ServingModel;
  /** Records per upstream call. */
  batchRows: number;
  /** Upstream calls one scoring may make. */
  budget: number;
}

/** Opens an external version for batch scoring; ValidationError when the record is not an endpoint's. */
export async function openExternalScoring(
  bytes: Uint8Array,
  version: ModelVersion,
): Promise<ExternalScoring> {
  const spec = readEndpointSpec(bytes, `${version.model}@${version.version}`);
  const model = await openModelFor(bytes, version);
  return { model, batchRows: spec.resilience.batchRows, budget: spec.resilience.scoreCallBudget };
}

/** Refuses a scoring that would take more upstream calls than the version's budget, before any call. */
export function checkCallBudget(s: ExternalScoring, rows: number, what: string): void {
  const calls = Math.ceil(rows / s.batchRows);
  if (calls > s.budget)
    throw new ValidationError(
      `scoring ${rows} rows of ${what} through ${s.model.version.model}@${s.model.version.version}'s model server takes ${calls} calls of ${s.batchRows} rows; its call budget is ${s.budget} (register the version with a larger resilience.scoreCallBudget or batchRows, or score fewer rows); nothing was recorded`,
      { field: 'dataset', calls, budget: s.budget, rows },
    );
}

/** Runs `call` over [0, total) in the model's batches; an upstream failure names the rows done. */
export async function inUpstreamBatches(
  s: ExternalScoring,
  total: number,
  call: (start: number, end: number) => Promise<void>,
  onProgress?: (rows: number, total: number) => void,
): Promise<void> {
  for (let start = 0; start < total; start += s.batchRows) {
    const end = Math.min(total, start + s.batchRows);
    try {
      await call(start, end);
    } catch (err) {
      if (!isAppError(err) || (err.code !== 'UPSTREAM_ERROR' && err.code !== 'UPSTREAM_TIMEOUT')) throw err;
      const Upstream = err.code === 'UPSTREAM_TIMEOUT' ? UpstreamTimeoutError : UpstreamError;
      throw new Upstream(
        `scoring stopped at row ${start} of ${total} (rows ${start}-${end - 1} failed): ${err.message}; nothing was recorded`,
        { ...(err.details ?? {}), scoredRows: start, totalRows: total },
      );
    }
    onProgress?.(end, total);
  }
}

/** Every record's answer through the external model, in upstream batches. */
export async function predictExternal(
  s: ExternalScoring,
  records: readonly Record<string, unknown>[],
  what: string,
  onProgress?: (rows: number, total: number) => void,
): Promise<PredictionOutput[]> {
  checkCallBudget(s, records.length, what);
  const out: PredictionOutput[] = new Array(records.length);
  await inUpstreamBatches(
    s,
    records.length,
    async (start, end) => {
      const part = s.model.parse(records.slice(start, end), { maxRecords: s.batchRows });
      const answers = await s.model.predict(part);
      for (let i = 0; i < answers.length; i++) out[start + i] = answers[i] as PredictionOutput;
    },
    onProgress,
  );
  return out;
}

/**
 * An external version as evaluation's scorer (ml's OnnxPredictor shape): its features, and P(positive)
 * for a classifier or the value of a regressor per record (ServingModel.score), in upstream batches.
 */
export async function openExternalScorer(
  bytes: Uint8Array,
  version: ModelVersion,
  onProgress?: (rows: number, total: number) => void,
): Promise<{
  features: string[];
  predict(rows: Record<string, unknown>[]): Promise<Float64Array>;
  release(): Promise<void>;
}> {
  const s = await openExternalScoring(bytes, version);
  return {
    features: s.model.features.map((f) => f.name),
    async predict(rows) {
      checkCallBudget(s, rows.length, 'the dataset');
      const out = new Float64Array(rows.length);
      await inUpstreamBatches(
        s,
        rows.length,
        async (start, end) => {
          const part = s.model.parse(rows.slice(start, end), { maxRecords: s.batchRows });
          out.set(await s.model.score(part), start);
        },
        onProgress,
      );
      return out;
    },
    release: () => s.model.release(),
  };
}
