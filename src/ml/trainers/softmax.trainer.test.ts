import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import { encodeTraining } from './feature-encoding.js';
import { Design } from './linear.trainer.js';
import { softmaxObjective, softmaxSystem } from './softmax.trainer.js';
import { prepareTrainingData } from './training-data.js';

/** A small three-class table: two numbers and a category. */
function setup() {
  const r = seededRandom(3);
  const n = 40;
  const x1 = Array.from({ length: n }, () => r() * 4 - 2);
  const x2 = Array.from({ length: n }, () => r() * 4 - 2);
  const c = Array.from({ length: n }, (_, i) => ['u', 'v'][i % 2]!);
  const y = x1.map((v, i) => (v + x2[i]! > 1 ? 'hi' : v - x2[i]! > 0.5 ? 'mid' : 'lo'));
  const data = prepareTrainingData({
    table: {
      rowCount: n,
      columns: [
        { name: 'x1', type: 'float', values: x1 },
        { name: 'x2', type: 'float', values: x2 },
        { name: 'c', type: 'string', values: c },
        { name: 'y', type: 'string', values: y },
      ],
    },
    target: 'y',
    task: 'classification',
    kind: 'linear',
    seed: 1,
  });
  const { enc, x } = encodeTraining(data, 50);
  const design = new Design(enc, x);
  const dim = 1 + 2 + 2; // intercept, two numbers, two categories
  return { data, design, dim, kc: 3 };
}

describe('softmax regression', () => {
  it('gradient and Hessian match finite differences of the objective', () => {
    const { data, design, dim, kc } = setup();
    const l2 = 0.5;
    const r = seededRandom(9);
    const beta = Float64Array.from({ length: kc * dim }, () => r() - 0.5);
    const f = (b: Float64Array) => softmaxObjective(design, data.y, data.trainRows, b, kc, dim, l2);
    const { grad, hess } = softmaxSystem(design, data.y, data.trainRows, beta, kc, dim, l2);
    const h = 1e-5;
    const total = kc * dim;
    for (let j = 0; j < total; j++) {
      const up = Float64Array.from(beta);
      const down = Float64Array.from(beta);
      up[j] = up[j]! + h;
      down[j] = down[j]! - h;
      expect(grad[j]!).toBeCloseTo((f(up) - f(down)) / (2 * h), 5);
      const gUp = softmaxSystem(design, data.y, data.trainRows, up, kc, dim, l2).grad;
      const gDown = softmaxSystem(design, data.y, data.trainRows, down, kc, dim, l2).grad;
      for (let i = 0; i < total; i++)
        expect(hess[i * total + j]!).toBeCloseTo((gUp[i]! - gDown[i]!) / (2 * h), 4);
    }
  });
});
