import type { TrainingTable } from './trainers/index.js';

/*
 * Warnings about features that will fit the training data and fail anywhere else: identifiers (unique
 * per row), text columns with nearly one value per row (often a number stored as text), and columns
 * that give the target away. They do not stop training: the person reads them and chooses --features.
 */

/** Fewer rows than this say too little about uniqueness or purity to warn. */
const MIN_ROWS = 20;
/** A text feature with more distinct values than this share of rows is memorised, not learned. */
const HIGH_CARDINALITY = 0.5;
/** |correlation| with the target at or above this is a leak, not a signal. */
const LEAK_CORRELATION = 0.98;

type Column = TrainingTable['columns'][number];
type Value = Column['values'][number];

const present = (values: Value[]) => values.filter((v): v is Exclude<Value, null> => v !== null);

/** The target as numbers: as is when numeric, else 0/1 for two classes; undefined otherwise. */
function numericTarget(target: Column): (number | null)[] | undefined {
  if (target.values.every((v) => v === null || typeof v === 'number'))
    return target.values as (number | null)[];
  const classes = [...new Set(present(target.values).map(String))].sort();
  if (classes.length !== 2) return undefined;
  return target.values.map((v) => (v === null ? null : classes.indexOf(String(v))));
}

function correlation(x: (number | null)[], y: (number | null)[]): number | undefined {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i];
    const b = y[i];
    if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a)) continue;
    n++;
    sx += a;
    sy += b;
    sxx += a * a;
    syy += b * b;
    sxy += a * b;
  }
  const vx = n * sxx - sx * sx;
  const vy = n * syy - sy * sy;
  if (n < MIN_ROWS || vx <= 0 || vy <= 0) return undefined;
  return (n * sxy - sx * sy) / Math.sqrt(vx * vy);
}

/** Every value of the feature maps to one target value (and the feature has a few values, not one per row). */
function determinesTarget(feature: Column, target: Column): boolean {
  const seen = new Map<string, string>();
  for (let i = 0; i < feature.values.length; i++) {
    const f = feature.values[i];
    const t = target.values[i];
    if (f === null || f === undefined || t === null || t === undefined) continue;
    const before = seen.get(String(f));
    if (before === undefined) seen.set(String(f), String(t));
    else if (before !== String(t)) return false;
  }
  return seen.size >= 2 && new Set(seen.values()).size >= 2;
}

/** Warnings for the chosen features of a training table, each naming the column and what to do. */
export function featureWarnings(table: TrainingTable, features: string[], targetName: string): string[] {
  const target = table.columns.find((c) => c.name === targetName);
  if (!target || table.rowCount < MIN_ROWS) return [];
  const y = numericTarget(target);
  const warnings: string[] = [];
  for (const name of features) {
    const col = table.columns.find((c) => c.name === name);
    if (!col) continue;
    const values = present(col.values);
    if (values.length < MIN_ROWS) continue;
    const distinct = new Set(values.map(String)).size;
    const numeric = values.every((v) => typeof v === 'number');
    const ints = numeric && (values as number[]).every(Number.isInteger);
    const consecutive =
      ints &&
      distinct === values.length &&
      Math.max(...(values as number[])) - Math.min(...(values as number[])) + 1 === values.length;
    if ((!numeric && distinct === values.length) || consecutive) {
      warnings.push(
        `feature '${name}' is unique per row (${distinct} values in ${values.length} rows): it looks like an identifier, which a model can only memorise; leave it out with --features`,
      );
      continue;
    }
    if (!numeric && distinct > HIGH_CARDINALITY * values.length) {
      warnings.push(
        `feature '${name}' is text with ${distinct} distinct values in ${values.length} rows: one-hot encoding memorises rows; if it is a number stored as text, see the notes of sextant data show`,
      );
      continue;
    }
    if (numeric && y) {
      const r = correlation(col.values as (number | null)[], y);
      if (r !== undefined && Math.abs(r) >= LEAK_CORRELATION) {
        warnings.push(
          `feature '${name}' correlates with the target '${targetName}' at ${r.toFixed(3)}: it probably leaks the answer (is it computed from the target, or known only afterwards?)`,
        );
        continue;
      }
    }
    if (!numeric && determinesTarget(col, target))
      warnings.push(
        `feature '${name}' determines the target '${targetName}' exactly (each of its ${distinct} values has one target value): it probably leaks the answer`,
      );
  }
  return warnings;
}
