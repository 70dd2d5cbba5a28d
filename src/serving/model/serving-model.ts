import type * as Ort from 'onnxruntime-node';
import { AppError, UnavailableError, ValidationError } from '../../core/errors.js';
import { type OnnxSession, openOnnxSession } from '../../core/onnx-session.js';
import type { ModelVersion } from '../../registry/index.js';
import type { PredictionOutput } from '../serving.schema.js';
import { type BatcherStats, MicroBatcher, type MicroBatcherOptions } from './batcher.js';
import { concatOutputs, decodeRow, type RunOutputs, recordFeeds, tensorFeeds } from './model-io.js';
import { type ModelKind, type ModelPlan, planModel, rawHead, type ServingFeature } from './model-plan.js';
import { createRecordChecker } from './record-check.js';
import { type UnseenCategories, unseenCategoryCheck } from './unseen-categories.js';

type Session = OnnxSession;
type Tensor = InstanceType<typeof Ort.Tensor>;

/** A model loaded for serving: checks request bodies, predicts with micro-batching, scores for explanations. */
export interface ServingModel {
  version: ModelVersion;
  /** The ONNX file as loaded (explanations read the model internals from it). */
  bytes: Uint8Array;
  /** 'records': one input per feature; 'tensor': a single float input [N, D] whose columns are f0..fD-1 (or the signature's names). */
  kind: ModelKind;
  /** Feature names and types from the signature ('records' models) or the float tensor width ('tensor'). */
  features: ServingFeature[];
  /** Parses any accepted body (MLflow dataframe_records, dataframe_split, instances, inputs; a record; a list of records or of positional rows) into checked records. */
  parse(body: unknown, opts?: { maxRecords?: number }): Record<string, unknown>[];
  predict(rows: readonly Record<string, unknown>[]): Promise<PredictionOutput[]>;
  /** The record's categories the model did not keep in training (feature -> value); undefined when none or unknowable. */
  unseenCategories(record: Record<string, unknown>): UnseenCategories | undefined;
  /** P(positive) / the value / the first numeric output, per row (explanations use this). */
  score(rows: readonly Record<string, unknown>[]): Promise<Float64Array>;
  /** Refuses new calls, waits for those in flight, then frees the session. Idempotent. */
  release(): Promise<void>;
  /** Runs made and calls served (how well micro-batching coalesces). */
  stats(): BatcherStats;
}

export interface ServingModelOptions extends MicroBatcherOptions {
  /** onnxruntime's intra-op threads (default: its own choice, one per core). */
  intraOpNumThreads?: number;
}

/** Rows per model run at most (more coalesced calls wait for the next run; a larger call is chunked). */
const DEFAULT_BATCH_ROWS = 1024;

/**
 * Loads an ONNX model for serving. A file onnxruntime cannot open, a graph whose inputs JSON cannot
 * feed, or one that fails on a warm-up row is refused with a ValidationError (field 'model'); the
 * process never goes down with it.
 */
export async function openServingModel(
  bytes: Uint8Array,
  version: ModelVersion,
  opts: ServingModelOptions = {},
): Promise<ServingModel> {
  const label = `${version.model}@${version.version}`;
  const session = await openOnnxSession(bytes, {
    label,
    // Idle intra-op threads block instead of spinning: the event loop needs the core between runs.
    spinning: false,
    ...(opts.intraOpNumThreads !== undefined ? { intraOpNumThreads: opts.intraOpNumThreads } : {}),
  });
  try {
    const plan = planModel(
      { inputs: session.inputMetadata, outputs: session.outputMetadata },
      version.signature?.declared,
    );
    const runner = createRunner(session, plan);
    await warmUp(runner, plan);
    return assemble(session, plan, runner, bytes, version, opts);
  } catch (err) {
    await session.release().catch(() => {});
    throw prefixed(label, err);
  }
}

/** Any failure while preparing a model is the file's fault: a ValidationError naming the version. */
function prefixed(label: string, err: unknown): ValidationError {
  const why = err instanceof AppError ? err.message : `it could not be prepared (${firstLine(err)})`;
  return new ValidationError(`${label}: ${why}`, {
    ...(err instanceof AppError ? err.details : {}),
    field: 'model',
  });
}

interface Runner {
  fetch: string[];
  /** Set after the warm-up: from then on every fetched output must answer one row per input row. */
  perRow: boolean;
  /** `parts`: the calls a batch joined (default: rows alone), for their checked feature matrices. */
  run(
    rows: readonly Record<string, unknown>[],
    parts?: readonly (readonly Record<string, unknown>[])[],
  ): Promise<RunOutputs>;
}

function createRunner(session: Session, plan: ModelPlan): Runner {
  const runner: Runner = {
    fetch: [...plan.fetch],
    perRow: false,
    async run(rows, parts = [rows]) {
      if (plan.fixedBatch === null || rows.length === plan.fixedBatch) return runOnce(rows, parts);
      // A model with a fixed batch of 1 runs row by row.
      const outs: RunOutputs[] = [];
      for (const row of rows) outs.push(await runOnce([row], [[row]]));
      return concatOutputs(outs, runner.fetch);
    },
  };
  async function runOnce(
    rows: readonly Record<string, unknown>[],
    parts: readonly (readonly Record<string, unknown>[])[],
  ): Promise<RunOutputs> {
    const feeds =
      plan.kind === 'tensor' ? tensorFeeds(plan, rows, parts) : recordFeeds(plan.recordInputs, rows);
    let result: Record<string, Tensor>;
    try {
      result = (await session.run(feeds, runner.fetch)) as Record<string, Tensor>;
    } catch (err) {
      const cause = firstLine(err);
      throw new ValidationError(`the model failed on these records (${cause})`, { field: 'records', cause });
    }
    const out: RunOutputs = {};
    for (const name of runner.fetch) {
      const t = result[name]!;
      const rank = t.dims.length;
      let width = 1;
      for (let k = 1; k < rank; k++) width *= Number(t.dims[k]);
      out[name] = {
        data: t.data as ArrayLike<unknown>,
        width,
        rank,
        rows: rank === 0 ? -1 : Number(t.dims[0]),
      };
      if (runner.perRow && out[name]!.rows !== rows.length) {
        throw new ValidationError(
          `the model answered ${out[name]!.rows} rows of '${name}' for ${rows.length} records`,
          { field: 'records' },
        );
      }
    }
    return out;
  }
  return runner;
}

/**
 * One run on zero / empty-string rows (two, when the batch is free, so outputs that are not per row
 * show up): a model that loads but cannot run is refused now rather than on its first request.
 */
async function warmUp(runner: Runner, plan: ModelPlan): Promise<void> {
  const n = plan.fixedBatch ?? 2;
  const row: Record<string, unknown> = {};
  for (const f of plan.features) row[f.name] = f.type === 'string' ? '' : 0;
  let out: RunOutputs;
  try {
    out = await runner.run(Array.from({ length: n }, () => row));
  } catch (err) {
    const why = err instanceof AppError ? String(err.details?.cause ?? err.message) : firstLine(err);
    throw new ValidationError(`the model loads but fails on a warm-up row of zeros (${why})`, {
      field: 'model',
    });
  }
  // Only per-row outputs can be split between the callers of a batch.
  const perRow = new Set(runner.fetch.filter((name) => out[name]!.rank >= 1 && out[name]!.rows === n));
  const head = plan.head;
  const required =
    head.mode === 'classifier' ? head.probabilities : head.mode === 'regressor' ? head.value : null;
  if (required !== null && !perRow.has(required)) {
    throw new ValidationError(`output '${required}' does not give one row per input row`, { field: 'model' });
  }
  runner.fetch = runner.fetch.filter((name) => perRow.has(name));
  runner.perRow = true;
  if (head.mode === 'classifier' && head.label !== null && !perRow.has(head.label)) head.label = null;
  if (head.mode === 'raw') {
    const chosen = rawHead(plan.tensorOutputs.filter((o) => perRow.has(o.name)));
    if (chosen === undefined)
      throw new ValidationError('no output gives one row per input row', { field: 'model' });
    plan.head = chosen;
  }
}

function assemble(
  session: Session,
  plan: ModelPlan,
  runner: Runner,
  bytes: Uint8Array,
  version: ModelVersion,
  opts: ServingModelOptions,
): ServingModel {
  const label = `${version.model}@${version.version}`;
  const checker = createRecordChecker(plan);
  const batcher = new MicroBatcher((rows, parts) => runner.run(rows, parts), opts);
  let releasing: Promise<void> | null = null;
  const head = plan.head;
  const unseen = unseenCategoryCheck(bytes);

  const chunk = Math.max(1, opts.maxBatchRows ?? DEFAULT_BATCH_ROWS);
  let active = 0;
  let drained: (() => void)[] = [];

  /**
   * Runs the rows through the batcher, a chunk at a time: a large call (explanations score
   * thousands of rows) lets the requests that arrive meanwhile run between its chunks.
   */
  async function inChunks(
    rows: readonly Record<string, unknown>[],
    read: (result: RunOutputs, offset: number, start: number, count: number) => void,
  ): Promise<void> {
    if (releasing !== null) throw new UnavailableError(`${label} is being unloaded; retry`, { model: label });
    if (rows.length === 0) return;
    active++;
    try {
      for (let start = 0; start < rows.length; start += chunk) {
        const part = rows.length <= chunk ? rows : rows.slice(start, start + chunk);
        const { result, offset } = await batcher.submit(part);
        read(result, offset, start, part.length);
      }
    } finally {
      if (--active === 0 && drained.length > 0) {
        const waiters = drained;
        drained = [];
        for (const w of waiters) w();
      }
    }
  }

  return {
    version,
    bytes,
    kind: plan.kind,
    features: plan.features,
    parse: checker.parse,
    async predict(rows) {
      const out: PredictionOutput[] = new Array(rows.length);
      await inChunks(rows, (result, offset, start, count) => {
        for (let i = 0; i < count; i++) out[start + i] = decodeRow(result, offset + i, plan);
      });
      return out;
    },
    unseenCategories: (record) => unseen?.(record),
    async score(rows) {
      if (head.mode === 'raw' && head.score === null) {
        throw new ValidationError(
          `${label} has no numeric output to score (a class label is no score; a model converted by skl2onnx needs options={'zipmap': False} so that its probabilities are a float tensor onnxruntime-node can read)`,
          { field: 'model' },
        );
      }
      const name =
        head.mode === 'classifier'
          ? head.probabilities
          : head.mode === 'regressor'
            ? head.value
            : head.score!;
      // A classifier's score is P(positive): the last column of its probabilities.
      const last = head.mode === 'classifier' || (head.mode === 'raw' && head.scoreLast);
      const scores = new Float64Array(rows.length);
      await inChunks(rows, (result, offset, start, count) => {
        const o = result[name]!;
        const column = last ? o.width - 1 : 0;
        for (let i = 0; i < count; i++) scores[start + i] = Number(o.data[(offset + i) * o.width + column]);
      });
      return scores;
    },
    release() {
      releasing ??= (async () => {
        while (active > 0) await new Promise<void>((resolve) => drained.push(resolve));
        await batcher.idle();
        await session.release();
      })();
      return releasing;
    },
    stats: () => batcher.stats(),
  };
}

function firstLine(err: unknown): string {
  if (err instanceof AppError) return err.message;
  const text = String((err as Error)?.message ?? err).split('\n')[0] ?? '';
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}
