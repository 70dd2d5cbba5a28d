import { AppError, IntegrityError, NotFoundError, ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import { flatMetrics, summarize, summarizeSlices } from './evaluation-report.js';
import { declaredFeatureNames, featureColumns, featureRecords } from './feature-columns.js';
import type { ClassificationMetrics, RegressionMetrics } from './metrics.js';
import type { MlApi, ModelRegistryPort, ModelVersionLike } from './ml-port.js';
import type { MulticlassMetrics } from './multiclass-metrics.js';
import {
  binaryClasses,
  columnValues,
  inferTask,
  loadDataset,
  readAll,
  type rowRecords,
  splitRows,
  targetValues,
} from './table-rows.js';
import {
  type ModelSignature,
  type OnnxPredictor,
  openOnnxPredictor,
  type Task,
  type TrainingTable,
} from './trainers/index.js';

/*
 * `sextant evaluate`: scores a stored ONNX model on a dataset version with onnxruntime. Our own models
 * carry signature.json (target, task, classes, inputs); an ONNX file uploaded from elsewhere needs the
 * target column named, and its inputs are fed from the table's columns by feature-columns.ts's rule
 * (by name; a single float tensor by its registered names, --features, or the columns in order).
 */

export interface EvaluateRequest {
  /** A run holding the model (model/model.onnx, or any .onnx artifact). */
  runId?: string;
  /** A registered version, `<model>@<version or alias>` (needs the registry port). */
  modelRef?: string;
  datasetRef: string;
  target?: string;
  slice?: string;
  /** The dataset columns feeding the model's features, in order (`--features a,b,c`). */
  features?: string[];
  workDir?: string;
  /**
   * Score only the validation rows of a training split (splitRows with this fraction and seed): the
   * rows a run held out, recomputed from its recorded `val_fraction` and `split_seed`.
   */
  validationSplit?: { fraction: number; seed: number };
  /** Columns whose values come back beside the scores (`scored`), for slices and fairness by the caller. */
  keep?: string[];
}

export interface EvaluateOutcome {
  model: {
    runId: string | null;
    ref: string | null;
    artifact: string | null;
    sha256: string;
    signature: boolean;
  };
  dataset: { ref: string; digest: string };
  task: Task;
  target: string;
  rows: number;
  metrics: Record<string, number>;
  details: ClassificationMetrics | MulticlassMetrics | RegressionMetrics;
  slices?: { column: string; values: { slice: string; count: number; metrics: Record<string, number> }[] };
  /** With `keep`: per scored row, the label (0/1, class index or value), the score and the kept columns. */
  scored?: {
    labels: Float64Array;
    predictions: Float64Array;
    classes: string[] | null;
    columns: Record<string, (number | string | boolean | null)[]>;
  };
}

/** The table restricted to the given rows (sorted indices), every column kept. */
function pickRows(table: TrainingTable, rows: readonly number[]): TrainingTable {
  return {
    rowCount: rows.length,
    columns: table.columns.map((c) => ({ ...c, values: rows.map((r) => c.values[r]!) })),
  };
}

const isNotFound = (err: unknown) => (err as { code?: string }).code === 'NOT_FOUND';

/** Finds the ONNX artifact of a run: model/model.onnx, else the one whose sha256 matches, else the first .onnx. */
async function findOnnxArtifact(api: MlApi, runId: string, sha256?: string): Promise<string> {
  const found: { path: string; sha256: string | null }[] = [];
  const walk = async (dir: string | undefined, depth: number): Promise<void> => {
    for (const e of await api.runs.listArtifacts(runId, dir)) {
      if (e.isDir && depth < 3) await walk(e.path, depth + 1);
      else if (e.path.endsWith('.onnx')) found.push({ path: e.path, sha256: e.sha256 });
    }
  };
  await walk(undefined, 0);
  const pick =
    (sha256 && found.find((f) => f.sha256 === sha256)) ||
    found.find((f) => f.path === 'model/model.onnx') ||
    (sha256 ? undefined : found[0]);
  if (!pick) throw new NotFoundError('ONNX model artifact', sha256 ? `${runId} (sha256 ${sha256})` : runId);
  return pick.path;
}

async function readSignature(api: MlApi, runId: string, onnxPath: string): Promise<ModelSignature | null> {
  const dir = onnxPath.includes('/') ? onnxPath.slice(0, onnxPath.lastIndexOf('/') + 1) : '';
  try {
    const text = (await readAll(await api.runs.downloadArtifact(runId, `${dir}signature.json`))).toString(
      'utf8',
    );
    return JSON.parse(text) as ModelSignature;
  } catch (err) {
    if (isNotFound(err)) return null;
    if (err instanceof SyntaxError)
      throw new ValidationError(`run ${runId}: ${dir}signature.json is not valid JSON`, {
        field: 'signature',
      });
    throw err;
  }
}

/** signature.json as the registry kept it, when it is one of ours (task and target present). */
function declaredSignature(declared: Record<string, unknown> | undefined): ModelSignature | null {
  if (!declared || typeof declared.task !== 'string' || typeof declared.target !== 'string') return null;
  return declared as unknown as ModelSignature;
}

/** An external version's endpoint record from the registry, checked against its recorded sha256. */
export async function loadEndpointRecord(
  registry: ModelRegistryPort,
  ref: string,
  sha256: string,
): Promise<Uint8Array> {
  if (!registry.download)
    throw new ValidationError(`${ref}: this registry cannot download versions`, { field: 'model' });
  const bytes = await registry.download(ref);
  if (sha256Hex(bytes) !== sha256)
    throw new IntegrityError(`${ref}: the endpoint record's sha256 differs from the registry's record`, {
      field: 'model',
    });
  return bytes;
}

/** Loads the model bytes and its signature from a run or a registered version. */
export async function loadStoredModel(
  api: MlApi,
  req: Pick<EvaluateRequest, 'runId' | 'modelRef'>,
  registry?: ModelRegistryPort,
): Promise<{
  bytes: Uint8Array;
  signature: ModelSignature | null;
  /** Feature names a version registered without signature.json declares (`models register --features`). */
  declared?: string[];
  runId: string | null;
  artifact: string | null;
  /** Set for an external model (format 'endpoint'): scored through registry.openExternal. */
  external?: ModelVersionLike;
}> {
  if (!req.runId === !req.modelRef)
    throw new ValidationError('give either a registered model <model>@<version> or --run <run-id>', {
      field: 'model',
    });
  if (req.runId) {
    const artifact = await findOnnxArtifact(api, req.runId);
    const bytes = new Uint8Array(await readAll(await api.runs.downloadArtifact(req.runId, artifact)));
    return { bytes, signature: await readSignature(api, req.runId, artifact), runId: req.runId, artifact };
  }
  const ref = req.modelRef!;
  if (!registry)
    throw new ValidationError('this Sextant has no model registry; evaluate with --run <run-id>', {
      field: 'model',
    });
  const version = await registry.resolve(ref);
  if (version.format === 'endpoint' && registry.openExternal) {
    const bytes = await loadEndpointRecord(registry, ref, version.sha256);
    const declared = declaredFeatureNames(version.signature?.declared);
    return {
      bytes,
      signature: declaredSignature(version.signature?.declared),
      ...(declared ? { declared } : {}),
      runId: version.runId,
      artifact: null,
      external: version,
    };
  }
  if (version.format !== 'onnx')
    throw new ValidationError(`${ref} is a ${version.format} model; evaluate scores ONNX models`, {
      field: 'model',
    });
  let signature = declaredSignature(version.signature?.declared);
  let artifact: string | null = null;
  let bytes: Uint8Array;
  if (version.runId) {
    // The run's artifact whose sha256 the registry recorded: the very file that was registered.
    artifact = await findOnnxArtifact(api, version.runId, version.sha256);
    bytes = new Uint8Array(await readAll(await api.runs.downloadArtifact(version.runId, artifact)));
    signature ??= await readSignature(api, version.runId, artifact);
  } else if (registry.download) {
    bytes = await registry.download(ref);
  } else {
    throw new NotFoundError('model file', ref);
  }
  if (sha256Hex(bytes) !== version.sha256)
    throw new IntegrityError(`${ref}: the model file's sha256 differs from the registry's record`, {
      field: 'model',
    });
  const declared = declaredFeatureNames(version.signature?.declared);
  return { bytes, signature, ...(declared ? { declared } : {}), runId: version.runId, artifact };
}

/** Scores the model on the dataset version and computes the metrics (overall and per slice). */
export async function evaluateModel(
  api: MlApi,
  req: EvaluateRequest,
  registry?: ModelRegistryPort,
): Promise<EvaluateOutcome> {
  if (!/^[^@\s]+@[^@\s]+$/.test(req.datasetRef))
    throw new ValidationError(`--dataset: expected <name>@<version>, got '${req.datasetRef}'`, {
      field: 'dataset',
    });
  const model = await loadStoredModel(api, req, registry);
  const external = model.external;
  const openExternal = registry?.openExternal;
  const sig = model.signature;
  const target = req.target ?? sig?.target;
  if (!target)
    throw new ValidationError(
      '--target: this model has no signature.json; name the target column with --target',
      {
        field: 'target',
      },
    );
  const dataset = await loadDataset(api, req.datasetRef, { workDir: req.workDir });
  const table = req.validationSplit
    ? pickRows(
        dataset.table,
        splitRows(dataset.table.rowCount, req.validationSplit.fraction, req.validationSplit.seed).validation,
      )
    : dataset.table;
  if (table.rowCount === 0)
    throw new ValidationError(`--dataset: ${dataset.ref} has no rows`, { field: 'dataset' });
  const targetColumn = columnValues(table, target, 'target');
  const sliceColumn = req.slice ? columnValues(table, req.slice, 'slice') : undefined;
  const kept = (req.keep ?? []).map((name) => columnValues(table, name, 'slices'));
  const task: Task = sig?.task ?? inferTask(targetColumn);
  if (targetColumn.values.some((v) => v === null))
    throw new ValidationError(`target '${target}' has missing values in ${dataset.ref}`, { field: 'target' });
  const classes =
    task === 'classification' ? (sig?.classes ?? binaryClasses(targetColumn.values)) : undefined;
  // K > 2 classes need the model's own class order (signature.json); a bare ONNX file has none.
  if (classes && classes.length !== 2 && !(sig?.classes && classes.length > 2))
    throw new ValidationError(
      `target '${target}' has ${classes.length} classes; a model without signature.json is evaluated on binary targets only`,
      {
        field: 'target',
      },
    );
  if (task === 'regression' && targetColumn.type !== 'integer' && targetColumn.type !== 'float')
    throw new ValidationError(`target '${target}' must be numeric for a regression model`, {
      field: 'target',
    });

  const predictions = await scoreTable(
    external && openExternal ? { ...model, open: () => openExternal(model.bytes, external) } : model,
    table,
    {
      model: req.modelRef ?? `run ${model.runId}`,
      dataset: dataset.ref,
      exclude: [target, ...(req.slice ? [req.slice] : []), ...(req.keep ?? [])],
      ...(req.features ? { explicit: req.features } : {}),
    },
  );
  const labels = targetValues(targetColumn.values, task, classes);
  if (classes && classes.length > 2 && predictions.length !== table.rowCount * classes.length)
    throw new ValidationError(
      `the model gave ${predictions.length / table.rowCount} probabilities per row for ${classes.length} classes`,
      { field: 'model' },
    );
  const summary = summarize(task, labels, predictions, classes);
  return {
    model: {
      runId: model.runId,
      ref: req.modelRef ?? null,
      artifact: model.artifact,
      sha256: sha256Hex(model.bytes),
      signature: sig !== null,
    },
    dataset: { ref: dataset.ref, digest: dataset.version.digest },
    task,
    target,
    rows: table.rowCount,
    metrics: summary.flat,
    details: summary.full,
    ...(sliceColumn
      ? {
          slices: {
            column: sliceColumn.name,
            values: summarizeSlices(task, labels, predictions, sliceColumn.values, classes).map((s) => ({
              slice: s.slice,
              count: s.count,
              metrics: flatMetrics(s.metrics.full),
            })),
          },
        }
      : {}),
    ...(req.keep
      ? {
          scored: {
            labels,
            predictions,
            classes: classes ?? null,
            columns: Object.fromEntries(kept.map((c) => [c.name, c.values])),
          },
        }
      : {}),
  };
}

/**
 * The model's predictions on every row of the table: our models read their signature's inputs by
 * name; any other model's features come from the table through featureColumns (names, --features,
 * or the columns in order for an unnamed float tensor).
 */
async function scoreTable(
  model: {
    bytes: Uint8Array;
    signature: ModelSignature | null;
    declared?: string[];
    /** An external model's scorer (else the bytes are ONNX). */
    open?: () => Promise<OnnxPredictor>;
  },
  table: Parameters<typeof rowRecords>[0],
  names: { model: string; dataset: string; exclude: string[]; explicit?: string[] },
): Promise<Float64Array> {
  const sig = model.signature;
  const declared = sig?.inputs.map((i) => i.name) ?? model.declared;
  const predictor = model.open
    ? await model.open()
    : await openOnnxPredictor(model.bytes, {
        label: names.model,
        ...(declared ? { declared } : {}),
      });
  try {
    const columns = featureColumns({
      model: names.model,
      dataset: names.dataset,
      features: predictor.features,
      columns: table.columns.map((c) => c.name),
      exclude: names.exclude,
      ...(names.explicit ? { explicit: names.explicit } : {}),
    });
    const byName = new Map(table.columns.map((c) => [c.name, c.values]));
    const rows = featureRecords((c) => byName.get(c), predictor.features, columns, table.rowCount);
    try {
      return await predictor.predict(rows);
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new ValidationError(`the model could not score ${names.dataset}: ${(err as Error).message}`, {
        field: 'model',
      });
    }
  } finally {
    await predictor.release();
  }
}
