import { createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ValidationError } from '../../core/errors.js';
import { convertJsonlToParquet, type JsonlColumn } from '../../data/index.js';
import {
  featureColumns,
  loadDataset,
  loadStoredModel,
  type MlApi,
  type ModelRegistryPort,
  resolveExperimentId,
} from '../../ml/index.js';
import type { ModelVersion } from '../../registry/index.js';
import { openServingModel, type ServingModel } from '../model/index.js';
import type { PredictionOutput } from '../serving.schema.js';

/*
 * `sextant predict <model>@<ref> --dataset <name>@<v>`: scores every row of a dataset version with the
 * code that serves the model online (the same record checks, feeds and answer decoding; no prediction
 * log), writes the predictions as Parquet, registers them as a new version of a dataset whose parent is
 * the input (lineage), and records a tracking run with the input and output datasets.
 *
 * Works over any transport (the API port, like training): on a laptop or against a server.
 */

/** What batch scoring needs of the API: ml's port plus adding a dataset version. */
export interface BatchPredictApi extends MlApi {
  data: MlApi['data'] & {
    add(input: {
      dataset: string;
      files: { path: string; localPath: string; size: number }[];
      source?: string;
      parents?: string[];
      producedByRunId?: string;
    }): Promise<{
      version: { id: string; dataset: string; number: number; digest: string };
      created: boolean;
    }>;
  };
}

export interface BatchPredictRequest {
  /** `<model>@<alias|n>`. */
  modelRef: string;
  /** `<name>@<version>`. */
  datasetRef: string;
  /** Where to write the Parquet file too (it is always registered as a dataset version). */
  out?: string | undefined;
  /** The dataset the predictions become a version of (default `<input dataset>-predictions`). */
  outputDataset?: string | undefined;
  experiment?: string | undefined;
  /** The dataset columns feeding the model's features, in order (`--features a,b,c`). */
  features?: string[] | undefined;
  workDir?: string | undefined;
  /** Rows scored so far, after each batch (the CLI draws it as a progress line). */
  onProgress?: ((rows: number, total: number) => void) | undefined;
}

export interface BatchPredictOutcome {
  runId: string;
  model: { ref: string; name: string; version: number };
  input: { ref: string; digest: string; rows: number };
  output: { ref: string; digest: string; path: string | null };
  /** Rows scored per second (scoring only, not loading or writing). */
  rowsPerSecond: number;
}

/** Rows per model run: large enough that onnxruntime's per-run cost vanishes. */
export const BATCH_ROWS = 4096;

/** Opens a model for batch scoring: the serving model, running whole batches of BATCH_ROWS at once. */
export function openBatchModel(bytes: Uint8Array, version: ModelVersion): Promise<ServingModel> {
  return openServingModel(bytes, version, { maxBatchRows: BATCH_ROWS });
}

/**
 * Scores records in batches through a serving model. Each batch is checked as a request body is (a
 * value of the wrong type is a ValidationError naming row and feature), unless `checked(start, end)`
 * says its rows are already known good (typed columns verified once, no missing values), which
 * saves the per-value walk on large tables.
 */
export async function scoreRecords(
  model: ServingModel,
  records: readonly Record<string, unknown>[],
  checked: (start: number, end: number) => boolean = () => false,
  onProgress?: (rows: number, total: number) => void,
): Promise<PredictionOutput[]> {
  const out: PredictionOutput[] = new Array(records.length);
  for (let start = 0; start < records.length; start += BATCH_ROWS) {
    const end = Math.min(records.length, start + BATCH_ROWS);
    const part = records.slice(start, end);
    let rows: Record<string, unknown>[];
    try {
      rows = checked(start, end) ? part : model.parse(part, { maxRecords: BATCH_ROWS });
    } catch (err) {
      throw offsetRows(err, start);
    }
    const answers = await model.predict(rows);
    for (let i = 0; i < answers.length; i++) out[start + i] = answers[i]!;
    onProgress?.(end, records.length);
  }
  return out;
}

/**
 * Whether a table's feature columns can skip the per-row check for rows [start, end): every column
 * has the type its feature takes (numbers for a numeric feature, text for a categorical one) and no
 * missing value in the range. Anything else goes through the checker, which names the bad value.
 */
export function typedColumnsCheck(
  model: ServingModel,
  columns: { name: string; type: string; values: unknown[] }[],
): (start: number, end: number) => boolean {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const cols = model.features.map((f) => ({ f, c: byName.get(f.name)! }));
  const typed = cols.every(({ f, c }) =>
    f.type === 'string' ? c.type === 'string' : c.type === 'integer' || c.type === 'float',
  );
  if (!typed) return () => false;
  return (start, end) => {
    for (const { c } of cols) {
      const v = c.values;
      for (let i = start; i < end; i++) {
        const x = v[i];
        if (x === null || x === undefined || (typeof x === 'number' && !Number.isFinite(x))) return false;
      }
    }
    return true;
  };
}

/** A record checker's error names `records[i]`; in a dataset that is row start + i. */
function offsetRows(err: unknown, start: number): unknown {
  if (!(err instanceof ValidationError)) return err;
  const shift = (s: string) => s.replace(/^records\[(\d+)\]/, (_m, i: string) => `row ${start + Number(i)}`);
  const field = typeof err.details?.field === 'string' ? shift(err.details.field) : undefined;
  return new ValidationError(shift(err.message), { ...err.details, ...(field ? { field } : {}) });
}

const DUCK_TYPES: Record<string, string> = {
  integer: 'BIGINT',
  float: 'DOUBLE',
  boolean: 'BOOLEAN',
  string: 'VARCHAR',
};

/** Scores a dataset version and records the run, the output version and its lineage. */
export async function batchPredict(
  api: BatchPredictApi,
  registry: ModelRegistryPort,
  req: BatchPredictRequest,
): Promise<BatchPredictOutcome> {
  if (!/^[^@\s]+@[^@\s]+$/.test(req.datasetRef))
    throw new ValidationError(`--dataset: expected <name>@<version>, got '${req.datasetRef}'`, {
      field: 'dataset',
    });
  const resolved = await registry.resolve(req.modelRef);
  const stored = await loadStoredModel(api, { modelRef: req.modelRef }, registry);
  // Serving reads the version's name, number and declared signature; the port's record carries them.
  const model = await openBatchModel(stored.bytes, resolved as unknown as ModelVersion);
  let output: { dataset: string; number: number; digest: string };
  const work = await mkdtemp(path.join(req.workDir ?? os.tmpdir(), 'sextant-predict-'));
  try {
    const dataset = await loadDataset(api, req.datasetRef, { workDir: work });
    const table = dataset.table;
    if (table.rowCount === 0)
      throw new ValidationError(`--dataset: ${dataset.ref} has no rows`, { field: 'dataset' });
    const byName = new Map(table.columns.map((c) => [c.name, c]));
    // The dataset column of each feature: by name, or for an unnamed float tensor the columns in
    // order or --features (the rule evaluation and explanations share).
    const columns = featureColumns({
      model: req.modelRef,
      dataset: dataset.ref,
      features: model.features.map((f) => f.name),
      columns: table.columns.map((c) => c.name),
      ...(req.features ? { explicit: req.features } : {}),
    });
    const features = model.features.map((f, j) => ({ ...byName.get(columns[j]!)!, name: f.name }));
    const records: Record<string, unknown>[] = new Array(table.rowCount);
    for (let i = 0; i < table.rowCount; i++) {
      const r: Record<string, unknown> = {};
      for (const c of features) r[c.name] = c.values[i] ?? null;
      records[i] = r;
    }
    const t0 = performance.now();
    const answers = await scoreRecords(model, records, typedColumnsCheck(model, features), req.onProgress);
    const seconds = Math.max((performance.now() - t0) / 1000, 1e-9);

    const parquet = path.join(work, 'predictions.parquet');
    await writePredictions(parquet, table.columns, answers);
    const rowsPerSecond = table.rowCount / seconds;
    const modelRef = `${resolved.model}@${resolved.version}`;
    const run = await api.runs.create({
      experimentId: await resolveExperimentId(api, req.experiment),
      name: `predict ${modelRef} on ${dataset.ref}`,
      command: `sextant predict ${req.modelRef} --dataset ${req.datasetRef}`,
      tags: { 'sextant.kind': 'batch-prediction', 'sextant.model': modelRef },
    });
    const runId = run.id;
    try {
      const added = await api.data.add({
        dataset: req.outputDataset ?? `${dataset.version.dataset}-predictions`,
        files: [{ path: 'predictions.parquet', localPath: parquet, size: (await stat(parquet)).size }],
        source: `sextant predict ${modelRef} --dataset ${dataset.ref}`,
        parents: [dataset.ref],
        producedByRunId: runId,
      });
      if (req.out !== undefined) await copyFile(parquet, req.out);
      await recordRun(api, runId, {
        modelRef,
        input: dataset,
        // A new version links itself to the run that produced it; the same content again is linked here.
        output: added.created ? null : added.version,
        rows: table.rowCount,
        rowsPerSecond,
      });
      output = added.version;
    } catch (err) {
      await api.runs.update(runId, { status: 'FAILED', endTime: Date.now() }).catch(() => {});
      throw err;
    }
    return {
      runId: run.id,
      model: { ref: req.modelRef, name: resolved.model, version: resolved.version },
      input: { ref: dataset.ref, digest: dataset.version.digest, rows: table.rowCount },
      output: {
        ref: `${output.dataset}@${output.number}`,
        digest: output.digest,
        path: req.out ?? null,
      },
      rowsPerSecond,
    };
  } finally {
    await model.release();
    await rm(work, { recursive: true, force: true });
  }
}

/** The input table's columns, then `prediction` and one `probability_<class>` per class (classifiers). */
async function writePredictions(
  file: string,
  columns: { name: string; type: string; values: unknown[] }[],
  answers: PredictionOutput[],
): Promise<void> {
  const classes = Object.keys(answers[0]?.probabilities ?? {});
  const numeric = answers.every((a) => typeof a.prediction === 'number' || a.prediction === null);
  const integral = numeric && answers.every((a) => a.prediction === null || Number.isInteger(a.prediction));
  const taken = new Set(columns.map((c) => c.name));
  const name = (want: string) => {
    let n = want;
    while (taken.has(n)) n = `_${n}`;
    taken.add(n);
    return n;
  };
  const predictionColumn = name('prediction');
  const probabilityColumns = classes.map((c) => name(`probability_${c}`));
  const schema: JsonlColumn[] = [
    ...columns.map((c) => ({ name: c.name, type: DUCK_TYPES[c.type] ?? 'VARCHAR' })),
    { name: predictionColumn, type: integral ? 'BIGINT' : numeric ? 'DOUBLE' : 'VARCHAR' },
    ...probabilityColumns.map((n) => ({ name: n, type: 'DOUBLE' })),
  ];
  const jsonl = `${file}.jsonl`;
  const stream = createWriteStream(jsonl);
  const write = (text: string) =>
    stream.write(text) ? Promise.resolve() : new Promise<void>((r) => stream.once('drain', () => r()));
  let chunk = '';
  for (let i = 0; i < answers.length; i++) {
    const row: Record<string, unknown> = {};
    for (const c of columns) row[c.name] = c.values[i] ?? null;
    const a = answers[i]!;
    row[predictionColumn] = a.prediction;
    classes.forEach((c, k) => {
      row[probabilityColumns[k]!] = a.probabilities?.[c] ?? null;
    });
    chunk += `${JSON.stringify(row)}\n`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise<void>((resolve, reject) =>
    stream.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  await convertJsonlToParquet(jsonl, file, schema);
  await rm(jsonl, { force: true });
}

async function recordRun(
  api: BatchPredictApi,
  runId: string,
  r: {
    modelRef: string;
    input: { ref: string; version: { id: string; dataset: string; digest: string } };
    output: { id: string; dataset: string; number: number; digest: string } | null;
    rows: number;
    rowsPerSecond: number;
  },
): Promise<void> {
  const now = Date.now();
  await api.runs.logBatch(runId, {
    params: [
      { key: 'model', value: r.modelRef },
      { key: 'dataset', value: r.input.ref },
    ],
    metrics: [
      { key: 'rows', value: r.rows, step: 0, timestamp: now },
      { key: 'rows_per_second', value: r.rowsPerSecond, step: 0, timestamp: now },
    ],
  });
  await api.runs.logInputs(runId, {
    datasets: [
      {
        name: r.input.version.dataset,
        digest: r.input.version.digest,
        sourceType: 'sextant',
        source: r.input.ref,
        datasetVersionId: r.input.version.id,
        tags: { 'mlflow.data.context': 'scoring' },
      },
    ],
    direction: 'input',
  });
  if (r.output !== null) {
    await api.runs.logInputs(runId, {
      datasets: [
        {
          name: r.output.dataset,
          digest: r.output.digest,
          sourceType: 'sextant',
          source: `${r.output.dataset}@${r.output.number}`,
          datasetVersionId: r.output.id,
        },
      ],
      direction: 'output',
    });
  }
  await api.runs.update(runId, { status: 'FINISHED', endTime: Date.now() });
}
