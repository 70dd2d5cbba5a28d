import { ValidationError } from '../../core/errors.js';
import type { EncodedRows, FeatureEncoding } from './feature-encoding.js';
import { encodeRecords, encodeTraining } from './feature-encoding.js';
import { fitGbdt } from './gbdt.trainer.js';
import { ensembleMargin, ensembleOnnx } from './gbdt-ensemble.js';
import { fitLinear, linearMargin } from './linear.trainer.js';
import {
  EXPLAIN_METADATA_KEY,
  linearInternalsJson,
  softmaxInternalsJson,
  treeInternalsJson,
} from './model-internals.js';
import { exportModelOnnx, signatureOutputs } from './model-onnx.js';
import type { GraphBuilder } from './onnx-graph.js';
import { fitSoftmax, softmaxMargins } from './softmax.trainer.js';
import type { FitOptions, FittedModel, ModelSignature } from './trainer.types.js';
import { param, resolveParams } from './trainer-params.js';
import { prepareTrainingData } from './training-data.js';
import { sigmoid, softmaxInPlace } from './validation-score.js';

/**
 * What each trainer hands back: margins of encoded rows ([N], or row-major [N, K] for K > 2
 * classes), and the graph that computes them.
 */
interface TrainedCore {
  margin(x: EncodedRows): Float64Array;
  onnxCore(b: GraphBuilder, x: string): string;
  standardize: boolean;
  /** The `sextant.explain` metadata: what explanations need to be exact (linear) or TreeSHAP. */
  internals(): string;
}

/** Trains a model; every input is checked (ValidationError) before any work starts. */
export function fitModel(opts: FitOptions): FittedModel {
  if (opts.kind !== 'linear' && opts.kind !== 'gbdt') {
    throw new ValidationError(`model must be 'linear' or 'gbdt', got '${String(opts.kind)}'`, {
      field: 'kind',
    });
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new ValidationError(`threads must be a whole number of at least 1, got ${opts.threads}`, {
      field: 'threads',
    });
  }
  const params = resolveParams(opts.kind, opts.params);
  const data = prepareTrainingData(opts);
  const { enc, x } = encodeTraining(data, param(params, 'max_categories'));
  const common = {
    task: opts.task,
    enc,
    x,
    y: data.y,
    trainRows: data.trainRows,
    validRows: data.validRows,
    params,
    onIteration: opts.onIteration,
  };
  const classCount = data.classes && data.classes.length > 2 ? data.classes.length : undefined;
  const core =
    opts.kind === 'linear'
      ? classCount !== undefined
        ? softmaxCore({ ...common, classCount })
        : linearCore(common)
      : gbdtCore({
          ...common,
          seed: opts.seed,
          threads: opts.threads ?? 'auto',
          ...(classCount !== undefined ? { classCount } : {}),
        });
  const signature: ModelSignature = {
    format: 'onnx',
    task: opts.task,
    target: opts.target,
    trainer: opts.kind,
    inputs: data.features.map((f) => ({ name: f.name, type: f.kind === 'numeric' ? 'float' : 'string' })),
    outputs: signatureOutputs(opts.task),
    ...(data.classes ? { classes: [...data.classes] } : {}),
  };
  let onnx: Uint8Array | undefined;
  return {
    kind: opts.kind,
    task: opts.task,
    target: opts.target,
    features: data.features.map((f) => ({ ...f })),
    ...(data.classes ? { classes: [...data.classes] } : {}),
    params: { ...params },
    predict(rows) {
      const margin = core.margin(encodeRecords(rows, enc));
      if (classCount !== undefined) {
        // Row-major [N, K] class probabilities, as the graph's Softmax computes them.
        for (let at = 0; at < margin.length; at += classCount) softmaxInPlace(margin, at, classCount);
        return margin;
      }
      // Regression: the graph's output is float32; round here too so both agree exactly.
      return margin.map((m) => (opts.task === 'classification' ? sigmoid(m) : Math.fround(m)));
    },
    toOnnx() {
      onnx ??= exportModelOnnx({
        signature,
        features: data.features,
        enc,
        standardize: core.standardize,
        core: core.onnxCore,
        metadata: {
          'sextant.signature': JSON.stringify(signature),
          'sextant.params': JSON.stringify(params),
          [EXPLAIN_METADATA_KEY]: core.internals(),
        },
      });
      return onnx.slice();
    },
    signature: () => structuredClone(signature),
  };
}

function linearCore(fit: Parameters<typeof fitLinear>[0]): TrainedCore {
  const core = fitLinear(fit);
  const enc: FeatureEncoding = fit.enc;
  return {
    standardize: true,
    margin: (x) => linearMargin(core, enc, x),
    internals: () => linearInternalsJson(fit.task, enc, core),
    onnxCore: (b, x) => {
      const product = b.node('MatMul', [x, b.doubles(core.weights, [core.weights.length, 1])]);
      return b.node('Add', [product, b.doubles([core.intercept], [1])]);
    },
  };
}

function softmaxCore(fit: Parameters<typeof fitSoftmax>[0]): TrainedCore {
  const core = fitSoftmax(fit);
  const kc = fit.classCount;
  const d = core.weights[0]!.length;
  return {
    standardize: true,
    margin: (x) => softmaxMargins(core, fit.enc, x),
    internals: () => softmaxInternalsJson(fit.enc, core),
    onnxCore: (b, x) => {
      const w = new Array<number>(d * kc);
      for (let j = 0; j < d; j++) for (let k = 0; k < kc; k++) w[j * kc + k] = core.weights[k]![j]!;
      const product = b.node('MatMul', [x, b.doubles(w, [d, kc])]);
      return b.node('Add', [product, b.doubles(Array.from(core.intercepts), [kc])]);
    },
  };
}

function gbdtCore(fit: Parameters<typeof fitGbdt>[0]): TrainedCore {
  const vt = fitGbdt(fit);
  return {
    standardize: false,
    margin: (x) => ensembleMargin(vt, fit.enc, x),
    internals: () => treeInternalsJson(fit.task, fit.enc, vt),
    onnxCore: (b, x) => ensembleOnnx(vt, b, x),
  };
}
