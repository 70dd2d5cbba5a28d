import { ValidationError } from '../core/errors.js';

/*
 * Input checks shared by estimation, detectors and fairness: labels and predictions of a binary
 * classifier arrive from logs and joins, so a string "yes" or a NaN must be a named error that says
 * which row, never a silent 0.
 */

/** Labels (or predicted labels) that are not 0/1 or true/false; `details.field` names the row. */
export class LabelTypeError extends ValidationError {
  constructor(field: string, index: number, value: unknown) {
    super(`${field}[${index}]: a binary label must be 0, 1, true or false, got ${JSON.stringify(value)}`, {
      field: `${field}[${index}]`,
      reason: 'label_type',
    });
  }
}

/** Turns 0/1 or boolean labels into 0/1 numbers; anything else is a LabelTypeError naming the row. */
export function toBinaryLabels(values: ArrayLike<unknown>, field: string): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === 1 || v === true) out[i] = 1;
    else if (v === 0 || v === false) out[i] = 0;
    else throw new LabelTypeError(field, i, v);
  }
  return out;
}

/** Checks scores are finite probabilities in [0, 1]; the error names the first bad row. */
export function checkScores(values: ArrayLike<unknown>, field: string): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
      throw new ValidationError(
        `${field}[${i}]: a score must be a finite number in [0, 1], got ${String(v)}`,
        {
          field: `${field}[${i}]`,
          reason: 'score_range',
        },
      );
    }
    out[i] = v;
  }
  return out;
}

/** Checks that two parallel inputs have the same length. */
export function checkSameLength(
  a: ArrayLike<unknown>,
  b: ArrayLike<unknown>,
  fieldB: string,
  fieldA: string,
): void {
  if (a.length !== b.length) {
    throw new ValidationError(`${fieldB}: has ${b.length} rows but ${fieldA} has ${a.length}`, {
      field: fieldB,
      reason: 'length_mismatch',
    });
  }
}
