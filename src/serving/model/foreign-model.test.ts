import { describe, expect, it } from 'vitest';
import { foreignLogisticOnnx, foreignLogisticScore } from '../../../test/fixtures/foreign-onnx.js';
import { ValidationError } from '../../core/errors.js';
import type { ModelVersion } from '../../registry/index.js';
import { openServingModel } from './serving-model.js';

/* Models as skl2onnx writes them: one float tensor 'X' [None, N]; 'label' (int64) + 'probabilities'. */

const WEIGHTS = [0.5, -1, 2];
const BIAS = -0.25;

function version(declared?: Record<string, unknown>): ModelVersion {
  return {
    model: 'sk',
    version: 1,
    signature: { inputs: [], outputs: [], ...(declared ? { declared } : {}) },
  } as unknown as ModelVersion;
}

describe('a skl2onnx classifier', () => {
  it('answers its integer label as the prediction and P(1) from the probabilities tensor as the score', async () => {
    const model = await openServingModel(foreignLogisticOnnx({ weights: WEIGHTS, bias: BIAS }), version());
    try {
      expect(model.kind).toBe('tensor');
      const rows = model.parse([
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ]);
      const out = await model.predict(rows);
      const expected = [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
      ].map((x) => foreignLogisticScore(WEIGHTS, BIAS, x));
      out.forEach((o, i) => {
        expect(o.prediction).toBe(expected[i]! >= 0.5 ? 1 : 0);
        expect((o.outputs!.probabilities as number[])[1]).toBeCloseTo(expected[i]!, 6);
      });
      const scores = await model.score(rows);
      for (const [i, e] of expected.entries()) expect(scores[i]).toBeCloseTo(e, 6);
    } finally {
      await model.release();
    }
  });

  it('takes the column names registered with it (signature.declared.inputs)', async () => {
    const model = await openServingModel(
      foreignLogisticOnnx({ weights: WEIGHTS, bias: BIAS }),
      version({ inputs: ['age', 'debt', 'income'].map((name) => ({ name, type: 'float' })) }),
    );
    try {
      expect(model.features.map((f) => f.name)).toEqual(['age', 'debt', 'income']);
      const [s] = await model.score(model.parse({ age: 1, debt: 2, income: 3 }));
      expect(s).toBeCloseTo(foreignLogisticScore(WEIGHTS, BIAS, [1, 2, 3]), 6);
    } finally {
      await model.release();
    }
  });

  it('with a ZipMap output: serves the label, and refuses to score with a hint to convert with zipmap=False', async () => {
    const model = await openServingModel(
      foreignLogisticOnnx({ weights: WEIGHTS, bias: BIAS, zipmap: true }),
      version(),
    );
    try {
      const [o] = await model.predict(model.parse([[0, 0, 1]]));
      expect(o!.prediction).toBe(1);
      const err = await model.score(model.parse([[0, 0, 1]])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toMatch(/zipmap.*False/);
    } finally {
      await model.release();
    }
  });
});
