import { ValidationError } from '../core/errors.js';
import { columnValues, inferTask, type LoadedDataset, rowRecords, splitRows } from './table-rows.js';
import {
  fitModel,
  type IterationInfo,
  type ModelSignature,
  type Task,
  type TrainerKind,
  trainerParams,
} from './trainers/index.js';

/*
 * The pure part of training: check a spec, split the rows, fit, and keep what the run needs (ONNX
 * bytes, validation predictions, the iteration history). It holds no API and no closures in its result,
 * so a sweep can run it for many trials and log each afterwards.
 */

export const TRAINER_KINDS: readonly TrainerKind[] = ['linear', 'gbdt'];
/** Params Sextant itself records on a training run; trainer params may not reuse these names. */
export const RESERVED_PARAMS = [
  'model',
  'task',
  'target',
  'seed',
  'split_seed',
  'val_fraction',
  'dataset',
  'features',
];

export interface TrainSpec {
  /** `<dataset>@<version>`; see data's refs. */
  datasetRef: string;
  target: string;
  kind: TrainerKind;
  /** Default: inferred from the target (text, boolean or two values: classification). */
  task?: Task;
  params?: Record<string, string | number>;
  /** Seeds the trainer and the validation split (default 0). */
  seed?: number;
  /** Default: every column but the target. */
  features?: string[];
  /** Fraction of rows held out for validation (default 0.2). */
  valFraction?: number;
}

export interface CheckedSpec extends TrainSpec {
  seed: number;
  valFraction: number;
}

/** Checks what can be checked before any data is fetched; ValidationError naming the option otherwise. */
export function checkTrainSpec(spec: TrainSpec): CheckedSpec {
  if (!TRAINER_KINDS.includes(spec.kind))
    throw new ValidationError(`--model: must be one of ${TRAINER_KINDS.join(', ')}, got '${spec.kind}'`, {
      field: 'model',
    });
  if (spec.task !== undefined && spec.task !== 'classification' && spec.task !== 'regression')
    throw new ValidationError(`--task: must be classification or regression, got '${spec.task}'`, {
      field: 'task',
    });
  if (!spec.target) throw new ValidationError('--target: give the target column', { field: 'target' });
  if (!/^[^@\s]+@[^@\s]+$/.test(spec.datasetRef))
    throw new ValidationError(`--dataset: expected <name>@<version>, got '${spec.datasetRef}'`, {
      field: 'dataset',
    });
  const seed = spec.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new ValidationError(`--seed: must be a non-negative integer, got '${spec.seed}'`, {
      field: 'seed',
    });
  const valFraction = spec.valFraction ?? 0.2;
  if (!(valFraction > 0 && valFraction < 1))
    throw new ValidationError(
      `--val-fraction: must be between 0 and 1 (exclusive), got '${spec.valFraction}'`,
      {
        field: 'valFraction',
      },
    );
  const known = trainerParams(spec.kind);
  for (const name of Object.keys(spec.params ?? {})) {
    if (!(name in known))
      throw new ValidationError(
        `--param: unknown param '${name}' for the ${spec.kind} trainer (known: ${Object.keys(known).join(', ')})`,
        { field: `params.${name}` },
      );
  }
  if (spec.features?.includes(spec.target))
    throw new ValidationError(`--features: the target '${spec.target}' cannot also be a feature`, {
      field: 'features',
    });
  return { ...spec, seed, valFraction };
}

/** What a fit leaves behind: plain data, ready to log. */
export interface FitResult {
  task: Task;
  features: string[];
  classes?: string[];
  /** Resolved trainer params, defaults filled in. */
  params: Record<string, string | number>;
  signature: ModelSignature;
  onnx: Uint8Array;
  split: { seed: number; valFraction: number; train: number; validation: number[] };
  /** In-process predictions on the validation rows (P(positive) or the value). */
  predictions: Float64Array;
  history: IterationInfo[];
  earlyStopped: boolean;
  fitSeconds: number;
}

/**
 * Splits by seed, fits, predicts the validation rows and exports ONNX. `onIteration` sees each
 * iteration's validation score and may return false to stop the trial early (sweeps do).
 */
export function fitOnDataset(
  dataset: LoadedDataset,
  spec: CheckedSpec,
  onIteration?: (info: IterationInfo) => boolean | undefined,
): FitResult {
  const table = dataset.table;
  if (table.rowCount === 0)
    throw new ValidationError(`--dataset: ${dataset.ref} has no rows`, { field: 'dataset' });
  const targetColumn = columnValues(table, spec.target, 'target');
  const features = spec.features ?? table.columns.map((c) => c.name).filter((n) => n !== spec.target);
  for (const f of features) columnValues(table, f, 'features');
  if (features.length === 0)
    throw new ValidationError('--features: the table has no column besides the target', {
      field: 'features',
    });
  const task = spec.task ?? inferTask(targetColumn);
  const split = splitRows(table.rowCount, spec.valFraction, spec.seed);
  const history: IterationInfo[] = [];
  let earlyStopped = false;
  const started = process.hrtime.bigint();
  const model = fitModel({
    table,
    target: spec.target,
    features,
    task,
    kind: spec.kind,
    params: spec.params ?? {},
    seed: spec.seed,
    validation: { rows: split.validation },
    onIteration: (info) => {
      history.push(info);
      if (onIteration?.(info) === false) {
        earlyStopped = true;
        return false;
      }
      return undefined;
    },
  });
  const predictions = model.predict(rowRecords(table, features, split.validation));
  const onnx = model.toOnnx();
  const fitSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    task,
    features,
    ...(model.classes ? { classes: model.classes } : {}),
    params: model.params,
    signature: model.signature(),
    onnx,
    split: {
      seed: spec.seed,
      valFraction: spec.valFraction,
      train: split.train.length,
      validation: split.validation,
    },
    predictions,
    history,
    earlyStopped,
    fitSeconds,
  };
}
