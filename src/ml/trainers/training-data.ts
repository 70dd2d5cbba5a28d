import { ValidationError } from '../../core/errors.js';
import type { FeatureSpec, FitOptions, Task } from './trainer.types.js';

/** The checked, typed view of a table that both trainers learn from. */
export interface TrainingData {
  rowCount: number;
  features: FeatureSpec[];
  /** Per numeric feature: float32-rounded values (the model's input type), NaN where missing. */
  numeric: { name: string; values: Float64Array }[];
  /** Per categorical feature: the value as a string, undefined where missing. */
  categorical: { name: string; values: (string | undefined)[] }[];
  /**
   * Classification: the class index into `classes` (binary: 0/1, 1 = classes[1], the positive
   * class); regression: the value.
   */
  y: Float64Array;
  /** Classification: the distinct labels as text, sorted (numbers numerically); two or more. */
  classes?: string[];
  trainRows: Uint32Array;
  validRows: Uint32Array;
}

/** Output names of the ONNX graph: a feature may not take them. */
export const RESERVED_NAMES = new Set(['probabilities', 'label', 'variable']);
/** More distinct labels than this is a regression target or an id column, not classes. */
export const MAX_CLASSES = 100;
const numericTypes = new Set(['integer', 'float', 'boolean']);

/** A raw record value as the float32 the ONNX graph receives; NaN means missing. */
export function toFloatInput(value: unknown, field: string): number {
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'number') return Math.fround(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    if (value.trim() === '') return Number.NaN;
    const n = Number(value);
    if (!Number.isNaN(n)) return Math.fround(n);
  }
  throw new ValidationError(`${field} must be a number, got ${JSON.stringify(value)}`, { field });
}

/** A raw record value as the string the ONNX graph receives; '' and null mean missing. */
export function toCategoryInput(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : String(value);
}

/** Checks everything about a fit request that can be wrong, before any work is done. */
export function prepareTrainingData(opts: FitOptions): TrainingData {
  const { table, target, task } = opts;
  if (task !== 'classification' && task !== 'regression') {
    throw new ValidationError(`task must be 'classification' or 'regression', got '${String(task)}'`, {
      field: 'task',
    });
  }
  if (!Number.isSafeInteger(opts.seed)) {
    throw new ValidationError(`seed must be a whole number, got ${String(opts.seed)}`, { field: 'seed' });
  }
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  const targetColumn = byName.get(target);
  if (targetColumn === undefined) {
    throw new ValidationError(
      `target column '${target}' does not exist (columns: ${table.columns.map((c) => c.name).join(', ')})`,
      { field: 'target' },
    );
  }
  const n = table.rowCount;
  if (n === 0) throw new ValidationError('the dataset is empty: no rows to train on', { field: 'table' });
  for (const c of table.columns) {
    if (c.values.length !== n) {
      throw new ValidationError(`column '${c.name}' has ${c.values.length} values for ${n} rows`, {
        field: `table.${c.name}`,
      });
    }
  }
  const names = opts.features ?? table.columns.map((c) => c.name).filter((name) => name !== target);
  if (names.length === 0) throw new ValidationError('no feature columns to train on', { field: 'features' });
  const seen = new Set<string>();
  const features: FeatureSpec[] = [];
  for (const name of names) {
    const column = byName.get(name);
    if (column === undefined) {
      throw new ValidationError(`feature column '${name}' does not exist`, { field: 'features' });
    }
    if (name === target) throw new ValidationError(`feature '${name}' is the target`, { field: 'features' });
    if (seen.has(name)) throw new ValidationError(`feature '${name}' is listed twice`, { field: 'features' });
    if (RESERVED_NAMES.has(name)) {
      throw new ValidationError(`feature '${name}' has the name of a model output; rename the column`, {
        field: 'features',
      });
    }
    seen.add(name);
    features.push({ name, kind: numericTypes.has(column.type) ? 'numeric' : 'categorical' });
  }

  const { y, classes } = readTarget(targetColumn, task);
  const numeric: TrainingData['numeric'] = [];
  const categorical: TrainingData['categorical'] = [];
  for (const f of features) {
    const column = byName.get(f.name)!;
    if (f.kind === 'numeric')
      numeric.push({ name: f.name, values: readNumericFeature(f.name, column.values) });
    else
      categorical.push({ name: f.name, values: column.values.map((v) => toCategoryInput(v) || undefined) });
  }
  const { trainRows, validRows } = splitRows(n, opts.validation?.rows);
  if (classes !== undefined) {
    const counts = new Array<number>(classes.length).fill(0);
    for (const i of trainRows) counts[y[i]!]!++;
    if (counts.filter((c) => c > 0).length < 2) {
      throw new ValidationError(`target '${target}' has a single class in the training rows`, {
        field: 'target',
      });
    }
    // A class the trainer never sees has no prior and no gradient: refuse instead of guessing.
    const absent = classes.findIndex((_, k) => counts[k] === 0);
    if (absent >= 0) {
      throw new ValidationError(
        `target '${target}': class '${classes[absent]}' appears only in the validation rows; every class needs training rows`,
        { field: 'target' },
      );
    }
  }
  return {
    rowCount: n,
    features,
    numeric,
    categorical,
    y,
    ...(classes ? { classes } : {}),
    trainRows,
    validRows,
  };
}

function readTarget(
  column: FitOptions['table']['columns'][number],
  task: Task,
): { y: Float64Array; classes?: string[] } {
  const field = 'target';
  const values = column.values;
  const y = new Float64Array(values.length);
  const missingAt = values.findIndex((v) => v === null || v === undefined || v === '');
  if (missingAt >= 0) {
    throw new ValidationError(`target '${column.name}' is missing at row ${missingAt}`, { field });
  }
  if (task === 'regression') {
    if (column.type !== 'integer' && column.type !== 'float') {
      throw new ValidationError(
        `target '${column.name}' must be numeric for regression, but its type is ${column.type}`,
        { field },
      );
    }
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new ValidationError(
          `target '${column.name}' has a non-finite value at row ${i}: ${String(v)}`,
          {
            field,
          },
        );
      }
      y[i] = v;
    }
    return { y };
  }
  // Finite numbers (the usual 0/1 labels) are counted as numbers: the same classes, in the same
  // order, as by their text (String of a finite number is one to one, bar -0, which a Set
  // takes for 0 too), without a string per row.
  if (values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    const numbers = values as number[];
    const distinct = [...new Set(numbers)];
    checkClassCount(column.name, distinct.length, () => String(distinct[0]));
    const sorted = distinct.sort((a, b) => a - b);
    const index = new Map(sorted.map((c, k) => [c, k]));
    for (let i = 0; i < numbers.length; i++) y[i] = index.get(numbers[i]!)!;
    return { y, classes: sorted.map(String) };
  }
  const labels = values.map((v) => String(v));
  const distinct = [...new Set(labels)];
  checkClassCount(column.name, distinct.length, () => distinct[0]!);
  const allNumbers = values.every((v) => typeof v === 'number');
  const classes = allNumbers
    ? distinct.sort((a, b) => Number(a) - Number(b))
    : distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(classes.map((c, k) => [c, k]));
  for (let i = 0; i < labels.length; i++) y[i] = index.get(labels[i]!)!;
  return { y, classes };
}

/** Refuses a target of one class, or of more than MAX_CLASSES. */
function checkClassCount(name: string, count: number, first: () => string): void {
  const field = 'target';
  if (count < 2) {
    throw new ValidationError(`target '${name}' has a single class (${first()}); need two`, { field });
  }
  if (count > MAX_CLASSES) {
    throw new ValidationError(
      `target '${name}' has ${count} classes; classification takes at most ${MAX_CLASSES}`,
      { field },
    );
  }
}

function readNumericFeature(name: string, values: readonly unknown[]): Float64Array {
  const out = new Float64Array(values.length);
  // Built once, not once a value (it named every value's field, though only an error reads it).
  const field = `features.${name}`;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) {
        throw new ValidationError(
          `feature '${name}' has ${String(v)} at row ${i}; NaN and infinities are not data`,
          { field },
        );
      }
      // toFloatInput's number case.
      out[i] = Math.fround(v);
      continue;
    }
    if (v !== null && v !== undefined && typeof v !== 'boolean') {
      throw new ValidationError(`feature '${name}' must hold numbers, got ${JSON.stringify(v)} at row ${i}`, {
        field,
      });
    }
    out[i] = toFloatInput(v, field);
  }
  return out;
}

function splitRows(
  n: number,
  held: number[] | undefined,
): { trainRows: Uint32Array; validRows: Uint32Array } {
  const isValid = new Uint8Array(n);
  for (const r of held ?? []) {
    if (!Number.isInteger(r) || r < 0 || r >= n) {
      throw new ValidationError(`validation row ${r} is not a row index in [0, ${n})`, {
        field: 'validation.rows',
      });
    }
    isValid[r] = 1;
  }
  let validCount = 0;
  for (let i = 0; i < n; i++) validCount += isValid[i]!;
  if (validCount === n) {
    throw new ValidationError('every row is held out for validation; none is left to train on', {
      field: 'validation.rows',
    });
  }
  const trainRows = new Uint32Array(n - validCount);
  const validRows = new Uint32Array(validCount);
  let t = 0;
  let v = 0;
  for (let i = 0; i < n; i++) {
    if (isValid[i] === 1) validRows[v++] = i;
    else trainRows[t++] = i;
  }
  return { trainRows, validRows };
}
