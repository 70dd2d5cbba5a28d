import { ValidationError } from '../../core/errors.js';
import { seededRandom } from '../../core/random.js';
import { defaultProbability, generateCreditData } from '../../ml/index.js';

/*
 * Error streams with known change points, for the detectors' tests, their measured delays and the
 * demo. The credit stream is the realistic one: the "deployed model" is the credit generator's own
 * reference risk model (predict default when P >= threshold), and from `changeAt` on the labels come
 * from the generator's concept-drift knob, so P(y | x) moves while P(x) does not. The Bernoulli stream
 * is the textbook one: independent errors whose rate jumps at segment boundaries.
 */

/** A 0/1 error stream and the rows where it changes. */
export interface ErrorStream {
  errors: Uint8Array;
  changePoints: number[];
}

/** The credit model's errors: reference labels before `changeAt`, concept-drifted labels after. */
export function creditErrorStream(opts: {
  rows: number;
  changeAt: number;
  seed: number;
  /** The generator's conceptDrift after the change (default 1). */
  conceptDrift?: number;
  threshold?: number;
}): ErrorStream {
  if (!(Number.isInteger(opts.changeAt) && opts.changeAt > 0 && opts.changeAt < opts.rows)) {
    throw new ValidationError('changeAt: must be an integer row inside the stream', { field: 'changeAt' });
  }
  const threshold = opts.threshold ?? 0.5;
  const before = generateCreditData({ rows: opts.changeAt, seed: opts.seed });
  const after = generateCreditData({
    rows: opts.rows - opts.changeAt,
    seed: opts.seed + 1_000_003,
    conceptDrift: opts.conceptDrift ?? 1,
  });
  const errors = new Uint8Array(opts.rows);
  let i = 0;
  for (const row of [...before.rows, ...after.rows]) {
    const predicted = defaultProbability(row) >= threshold ? 1 : 0;
    errors[i++] = predicted === Number(row.defaulted) ? 0 : 1;
  }
  return { errors, changePoints: [opts.changeAt] };
}

/** Independent errors: each segment has its rows and error rate; a change point between segments. */
export function bernoulliErrorStream(segments: { rows: number; rate: number }[], seed: number): ErrorStream {
  const rand = seededRandom(seed);
  const total = segments.reduce((a, s) => a + s.rows, 0);
  const errors = new Uint8Array(total);
  const changePoints: number[] = [];
  let i = 0;
  segments.forEach((s, k) => {
    if (!(s.rate >= 0 && s.rate <= 1)) {
      throw new ValidationError(`segments[${k}].rate: must be in [0, 1]`, { field: `segments[${k}].rate` });
    }
    if (k > 0) changePoints.push(i);
    for (let r = 0; r < s.rows; r++) errors[i++] = rand() < s.rate ? 1 : 0;
  });
  return { errors, changePoints };
}
