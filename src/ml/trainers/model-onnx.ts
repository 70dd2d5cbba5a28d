import type { FeatureEncoding } from './feature-encoding.js';
import { attr, GraphBuilder } from './onnx-graph.js';
import { DataType } from './onnx-proto.js';
import type { FeatureSpec, ModelSignature, Task } from './trainer.types.js';

const ML = 'ai.onnx.ml';

export interface OnnxExport {
  signature: ModelSignature;
  features: FeatureSpec[];
  enc: FeatureEncoding;
  /** The linear model sees standardised numeric columns; trees see them as they are. */
  standardize: boolean;
  /** Adds the model proper: from the encoded matrix X (double [N, D]) to a margin (double [N, 1]). */
  core(b: GraphBuilder, x: string): string;
  metadata: Record<string, string>;
}

/**
 * The whole graph: raw feature inputs -> imputation, scaling, one-hot -> core -> outputs.
 * Preprocessing runs in double after a Cast, so the in-process model (which computes in double on
 * float32-rounded inputs) agrees with it to rounding of the final float outputs.
 */
export function exportModelOnnx(spec: OnnxExport): Uint8Array {
  const b = new GraphBuilder();
  const inputs = new Map<string, string>();
  for (const f of spec.features) {
    inputs.set(f.name, b.input(f.name, f.kind === 'numeric' ? DataType.FLOAT : DataType.STRING));
  }
  const blocks: string[] = [];
  const { numeric, categorical } = spec.enc;
  if (numeric.length > 0) {
    const k = numeric.length;
    const stacked =
      k === 1
        ? inputs.get(numeric[0]!.name)!
        : b.node(
            'Concat',
            numeric.map((c) => inputs.get(c.name)!),
            [attr.int('axis', 1)],
          );
    const asDouble = b.node('Cast', [stacked], [attr.int('to', DataType.DOUBLE)]);
    const means = b.doubles(
      numeric.map((c) => c.mean),
      [1, k],
    );
    const missing = b.node('IsNaN', [asDouble]);
    let block = b.node('Where', [missing, means, asDouble]);
    if (spec.standardize) {
      const centred = b.node('Sub', [block, means]);
      block = b.node('Div', [
        centred,
        b.doubles(
          numeric.map((c) => c.std),
          [1, k],
        ),
      ]);
    }
    blocks.push(block);
  }
  for (const c of categorical) {
    if (c.categories.length === 0) continue; // nothing was ever seen: the feature contributes nothing
    // zeros=1: an unseen category (or '' for missing) encodes as all zeros instead of failing.
    const hot = b.node(
      'OneHotEncoder',
      [inputs.get(c.name)!],
      [attr.strings('cats_strings', c.categories), attr.int('zeros', 1)],
      {
        domain: ML,
      },
    );
    const flat = b.node('Reshape', [hot, b.int64s([-1, c.categories.length], [2])]);
    blocks.push(b.node('Cast', [flat], [attr.int('to', DataType.DOUBLE)]));
  }
  const x = blocks.length === 1 ? blocks[0]! : b.node('Concat', blocks, [attr.int('axis', 1)]);
  const margin = spec.core(b, x);
  addHead(b, spec.signature.task, margin, spec.signature.classes);
  return b.toBytes({
    graphName: `sextant_${spec.signature.trainer}_${spec.signature.task}`,
    doc: `Predicts '${spec.signature.target}' from raw feature records (one input per feature).`,
    metadata: spec.metadata,
  });
}

function addHead(b: GraphBuilder, task: Task, margin: string, classes: string[] | undefined): void {
  if (task === 'regression') {
    b.node('Cast', [margin], [attr.int('to', DataType.FLOAT)], { output: 'variable' });
    b.output('variable', DataType.FLOAT, ['N', 1]);
    return;
  }
  if (classes !== undefined && classes.length > 2) {
    // Multiclass: margin is [N, K]; probabilities by Softmax, the label the most probable class.
    const probs = b.node('Softmax', [margin], [attr.int('axis', 1)]);
    b.node('Cast', [probs], [attr.int('to', DataType.FLOAT)], { output: 'probabilities' });
    const best = b.node('ArgMax', [probs], [attr.int('axis', 1), attr.int('keepdims', 1)]);
    b.node('Gather', [b.strings(classes, [classes.length]), best], [attr.int('axis', 0)], {
      output: 'label',
    });
    b.output('probabilities', DataType.FLOAT, ['N', classes.length]);
    b.output('label', DataType.STRING, ['N', 1]);
    return;
  }
  const p = b.node('Sigmoid', [margin]);
  const q = b.node('Sub', [b.doubles([1], [1]), p]);
  const both = b.node('Concat', [q, p], [attr.int('axis', 1)]);
  b.node('Cast', [both], [attr.int('to', DataType.FLOAT)], { output: 'probabilities' });
  const positive = b.node('Greater', [p, b.doubles([0.5], [1])]);
  const index = b.node('Cast', [positive], [attr.int('to', DataType.INT64)]);
  b.node('Gather', [b.strings(classes ?? ['0', '1'], [2]), index], [attr.int('axis', 0)], {
    output: 'label',
  });
  b.output('probabilities', DataType.FLOAT, ['N', 2]);
  b.output('label', DataType.STRING, ['N', 1]);
}

/** The output list of a signature, matching the graph above. */
export function signatureOutputs(task: Task): ModelSignature['outputs'] {
  return task === 'regression'
    ? [{ name: 'variable', type: 'float' }]
    : [
        { name: 'probabilities', type: 'float' },
        { name: 'label', type: 'string' },
      ];
}
