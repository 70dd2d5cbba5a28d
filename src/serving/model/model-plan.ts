import { ValidationError } from '../../core/errors.js';
import { tensorFeatureNames } from '../../ml/index.js';

/*
 * How a loaded ONNX model is fed and read, decided once at load from onnxruntime's metadata and the
 * trainer's signature.json. Two input layouts can be served:
 *   records  one input per feature, [N, 1] or [N] (Sextant's trainers, and per-column exports)
 *   tensor   a single float input [N, D] (a model exported from elsewhere): D features f0..fD-1
 * Anything else (images [N, C, H, W], sequences, several wide inputs, float16) is refused at load.
 */

export type FeatureType = 'float' | 'string';
export type ModelKind = 'records' | 'tensor';
/** The element types a feature can reach the model as. */
export type FeedType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'string';

export interface ServingFeature {
  name: string;
  type: FeatureType;
}

/** One ONNX input of a records model: the feature of the same name, as `feed`, rank 1 ([N]) or 2 ([N, 1]). */
export interface RecordInput {
  name: string;
  feed: FeedType;
  rank: 1 | 2;
}

/** What the model answers, read from its outputs. */
export type ModelHead =
  | {
      mode: 'classifier';
      probabilities: string;
      label: string | null;
      classes: string[];
      /** Every class is an integer ('0', '1', '-3'): predictions are answered as JSON numbers, as they were in training. */
      integerClasses: boolean;
    }
  | { mode: 'regressor'; value: string }
  /** Not one of Sextant's trainers: every per-row tensor output answered as it is (see rawHead). */
  | RawHead;

/**
 * A model from elsewhere. `prediction` names the output whose first value per row is the prediction,
 * `score` the one whose first (or, with scoreLast, last) value is the score.
 */
export interface RawHead {
  mode: 'raw';
  outputs: string[];
  prediction: string;
  score: string | null;
  scoreLast: boolean;
}

export interface ModelPlan {
  kind: ModelKind;
  features: ServingFeature[];
  /** records: one per feature, in feature order. */
  recordInputs: RecordInput[];
  /** tensor: the single input. */
  tensorInput: { name: string; feed: 'float32' | 'float64'; width: number } | null;
  /**
   * Rows per session.run when the model's batch dimension is fixed (1 for many exports made without
   * a dynamic batch axis); null when any number of rows can run at once.
   */
  fixedBatch: number | null;
  /** The model's tensor outputs (raw heads are re-chosen from those that prove to be per row). */
  tensorOutputs: ValueMeta[];
  /** Sextant's trainers impute a missing numeric (NaN) to its training mean and treat '' as an unknown category. */
  imputesMissing: boolean;
  head: ModelHead;
  /** The outputs to fetch on each run (candidates; the warm-up run drops those without one row per input row). */
  fetch: string[];
}

/** A metadata entry as onnxruntime-node reports it. */
export interface ValueMeta {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

/** The widest float tensor input served (a wider one is an absurd shape for per-request JSON). */
export const MAX_TENSOR_WIDTH = 65_536;
const recordFeeds = new Set<string>(['float32', 'float64', 'int32', 'int64', 'bool', 'string']);
const numericOutputs = new Set([
  'float32',
  'float64',
  'int32',
  'int64',
  'int16',
  'int8',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'bool',
]);

/** signature.json fields serving reads, checked loosely (it came through the registry). */
interface Declared {
  task?: 'classification' | 'regression';
  trainer?: string;
  classes?: string[];
  inputs?: { name: string; type: FeatureType }[];
}

function readDeclared(declared: Record<string, unknown> | undefined): Declared {
  if (declared === undefined) return {};
  const out: Declared = {};
  if (declared.task === 'classification' || declared.task === 'regression') out.task = declared.task;
  if (typeof declared.trainer === 'string') out.trainer = declared.trainer;
  if (Array.isArray(declared.classes) && declared.classes.every((c) => typeof c === 'string')) {
    out.classes = declared.classes as string[];
  }
  if (Array.isArray(declared.inputs)) {
    const inputs: { name: string; type: FeatureType }[] = [];
    for (const i of declared.inputs as unknown[]) {
      const e = i as { name?: unknown; type?: unknown } | null;
      if (e !== null && typeof e === 'object' && typeof e.name === 'string') {
        inputs.push({ name: e.name, type: e.type === 'string' ? 'string' : 'float' });
      }
    }
    out.inputs = inputs;
  }
  return out;
}

/**
 * Decides how to feed and read a model, or refuses it with a ValidationError (field 'model') saying
 * why. `declared` is the trainer's signature.json when the version came from a Sextant run.
 */
export function planModel(
  meta: { inputs: readonly ValueMeta[]; outputs: readonly ValueMeta[] },
  declaredRaw: Record<string, unknown> | undefined,
): ModelPlan {
  const declared = readDeclared(declaredRaw);
  const refuse = (why: string): never => {
    throw new ValidationError(`the model cannot be served: ${why}`, { field: 'model' });
  };
  if (meta.inputs.length === 0) refuse('it has no inputs');
  let fixedBatch: number | null = null;
  const batchOf = (m: ValueMeta): void => {
    const d = m.shape?.[0];
    if (typeof d !== 'number') return;
    if (d !== 1)
      refuse(`input '${m.name}' has a fixed batch size of ${d} (only a free batch axis or 1 is served)`);
    fixedBatch = 1;
  };

  const inputs = meta.inputs.map((m) => {
    if (!m.isTensor || m.type === undefined || m.shape === undefined) {
      return refuse(`input '${m.name}' is not a tensor (sequences and maps cannot be fed from JSON)`);
    }
    return { name: m.name, type: m.type, shape: m.shape };
  });
  const single = inputs.length === 1 ? inputs[0]! : undefined;
  const isColumn = (shape: readonly (number | string)[]) =>
    shape.length === 1 || (shape.length === 2 && (shape[1] === 1 || typeof shape[1] === 'string'));

  let kind: ModelKind;
  let features: ServingFeature[];
  let recordInputs: RecordInput[] = [];
  let tensorInput: ModelPlan['tensorInput'] = null;
  if (
    single !== undefined &&
    single.shape.length === 2 &&
    typeof single.shape[1] === 'number' &&
    single.shape[1] !== 1
  ) {
    // One wide float input: a feature matrix.
    const width = single.shape[1];
    if (single.type !== 'float32' && single.type !== 'float64') {
      refuse(
        `its single input '${single.name}' is a ${single.type} tensor; only float tensors can be fed from numbers`,
      );
    }
    if (width < 1 || width > MAX_TENSOR_WIDTH) {
      refuse(`input '${single.name}' is ${width} wide (at most ${MAX_TENSOR_WIDTH} features are served)`);
    }
    batchOf(meta.inputs[0]!);
    kind = 'tensor';
    tensorInput = { name: single.name, feed: single.type as 'float32' | 'float64', width };
    const names = tensorFeatureNames(
      width,
      declared.inputs?.map((i) => i.name),
    );
    if (new Set(names).size !== width) refuse('its signature names a feature twice');
    features = names.map((name) => ({ name, type: 'float' as const }));
  } else {
    kind = 'records';
    for (const [k, i] of inputs.entries()) {
      if (!isColumn(i.shape)) {
        refuse(
          `input '${i.name}' has shape [${i.shape.join(', ')}]; a model is served when each input is one feature ([N, 1]) or it has a single float input [N, D]`,
        );
      }
      if (typeof i.shape[1] === 'string') {
        refuse(`input '${i.name}' has a free second dimension '${i.shape[1]}'; its width is unknown`);
      }
      if (!recordFeeds.has(i.type))
        refuse(`input '${i.name}' takes ${i.type}, which JSON records cannot feed`);
      batchOf(meta.inputs[k]!);
      recordInputs.push({ name: i.name, feed: i.type as FeedType, rank: i.shape.length === 1 ? 1 : 2 });
    }
    if (declared.inputs !== undefined && declared.inputs.length > 0) {
      // The declared order is the feature order callers know (positional rows follow it).
      const byName = new Map(recordInputs.map((r) => [r.name, r]));
      const declaredNames = new Set(declared.inputs.map((i) => i.name));
      const missing = declared.inputs.filter((i) => !byName.has(i.name)).map((i) => i.name);
      const extra = recordInputs.filter((r) => !declaredNames.has(r.name)).map((r) => r.name);
      if (missing.length > 0 || extra.length > 0 || declaredNames.size !== declared.inputs.length) {
        refuse(
          `its signature.json does not match the ONNX inputs (declared only: ${missing.join(', ') || '-'}; ONNX only: ${extra.join(', ') || '-'})`,
        );
      }
      recordInputs = declared.inputs.map((i) => byName.get(i.name)!);
    }
    features = recordInputs.map((r) => ({ name: r.name, type: r.feed === 'string' ? 'string' : 'float' }));
  }

  const tensorOutputs = meta.outputs.filter((o) => o.isTensor && o.type !== undefined);
  const outputNamed = (n: string) => tensorOutputs.find((o) => o.name === n);
  let head: ModelHead;
  if (declared.task === 'classification') {
    const probabilities = outputNamed('probabilities');
    if (probabilities === undefined || !numericOutputs.has(probabilities.type!)) {
      return refuse("its signature.json declares a classifier, but it has no numeric 'probabilities' output");
    }
    const label = outputNamed('label');
    const classes = declared.classes ?? ['0', '1'];
    head = {
      mode: 'classifier',
      probabilities: 'probabilities',
      label: label?.type === 'string' ? 'label' : null,
      classes,
      integerClasses: classes.every(isIntegerText),
    };
  } else if (declared.task === 'regression') {
    const value = outputNamed('variable') ?? tensorOutputs.find((o) => numericOutputs.has(o.type!));
    if (value === undefined)
      return refuse('its signature.json declares a regressor, but it has no numeric output');
    head = { mode: 'regressor', value: value.name };
  } else {
    if (tensorOutputs.length === 0) return refuse('it has no tensor outputs to answer with');
    head = rawHead(tensorOutputs)!;
  }
  const fetch =
    head.mode === 'classifier'
      ? [head.probabilities, ...(head.label !== null ? [head.label] : [])]
      : head.mode === 'regressor'
        ? [head.value]
        : head.outputs;
  return {
    kind,
    features,
    recordInputs,
    tensorInput,
    tensorOutputs,
    fixedBatch,
    imputesMissing: declared.trainer !== undefined && declared.task !== undefined,
    head,
    fetch,
  };
}

/**
 * '0', '17', '-3' (as the trainers write integer labels); not '01', '1.0' or '+1', which were text in
 * the training data (an integer column's labels are written back in canonical form).
 */
function isIntegerText(c: string): boolean {
  return /^-?(0|[1-9][0-9]{0,14})$/.test(c);
}

const LABEL_NAMES = new Set(['label', 'output_label', 'predicted_label', 'prediction']);
const PROBABILITY_NAMES = new Set(['probabilities', 'output_probability', 'probability', 'probas']);

/**
 * How a model from elsewhere is answered, by the conventions of common exporters: the prediction is a
 * label-named output (label, output_label, ...) if there is one, else the first numeric output; the
 * score is P(positive) from a probabilities-named output (its last column), else 'variable', else
 * the first numeric output that is not a class label. undefined when there is no output at all.
 */
export function rawHead(outputs: readonly ValueMeta[]): RawHead | undefined {
  if (outputs.length === 0) return undefined;
  const numeric = outputs.filter((o) => numericOutputs.has(o.type!) && o.type !== 'bool');
  const label = outputs.find((o) => LABEL_NAMES.has(o.name));
  const probabilities = numeric.find((o) => PROBABILITY_NAMES.has(o.name));
  // A class label (integers, as skl2onnx's 'label') is no score: without a probabilities tensor (a
  // ZipMap output onnxruntime-node cannot read) the model has none.
  const isClassLabel = label !== undefined && label.type !== 'float32' && label.type !== 'float64';
  const scores = isClassLabel ? numeric.filter((o) => o !== label) : numeric;
  const score = probabilities ?? scores.find((o) => o.name === 'variable') ?? scores[0];
  return {
    mode: 'raw',
    outputs: outputs.map((o) => o.name),
    prediction: (label ?? numeric[0] ?? outputs[0]!).name,
    score: score?.name ?? null,
    scoreLast: score !== undefined && score === probabilities,
  };
}
