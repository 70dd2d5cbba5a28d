import { ValidationError } from '../core/errors.js';

/*
 * Which dataset column feeds which model feature: the one rule evaluation, batch scoring,
 * explanation backgrounds and monitoring's reference scoring share, so that they all read a dataset
 * as serving reads a request. A model from elsewhere whose input is one float tensor [N, D] has no
 * feature names of its own; its D columns are named
 *   1. by the registered signature (`models register --features a,b,c`, kept in signature.declared.inputs),
 *   2. else by an explicit mapping given to the command (`--features a,b,c`),
 *   3. else by the dataset's columns in order (the target and any excluded column left out), when
 *      there are exactly D of them.
 * A width that does not match is refused with both widths, the model and the dataset named.
 */

/** The placeholder names of a tensor's columns when nothing names them: f0..fD-1. */
export function placeholderNames(width: number): string[] {
  return Array.from({ length: width }, (_, j) => `f${j}`);
}

/**
 * The feature names of a single float tensor input [N, width]: the declared names when there are
 * exactly `width` of them, else f0..f{width-1} (serving's and evaluation's rule).
 */
export function tensorFeatureNames(width: number, declared: readonly string[] | undefined): string[] {
  return declared !== undefined && declared.length === width ? [...declared] : placeholderNames(width);
}

/** The names a signature.json (or a registration's --features) declares, in order, if any. */
export function declaredFeatureNames(declared: Record<string, unknown> | undefined): string[] | undefined {
  const inputs = declared?.inputs;
  if (!Array.isArray(inputs)) return undefined;
  const names: string[] = [];
  for (const i of inputs as unknown[]) {
    const name = (i as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return undefined;
    names.push(name);
  }
  return names.length > 0 ? names : undefined;
}

/** Parses `--features a,b,c` (comma-separated, trimmed; empty names and repeats refused). */
export function parseFeatureList(text: string, field = 'features'): string[] {
  const names = text.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) {
    throw new ValidationError(`${field}: expected column names separated by commas, got '${text}'`, {
      field,
    });
  }
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new ValidationError(`${field}: '${n}' is named twice`, { field, column: n });
    seen.add(n);
  }
  return names;
}

export interface FeatureColumnsRequest {
  /** Names the model in errors, e.g. 'credit@3'. */
  model: string;
  /** Names the dataset in errors, e.g. 'applicants@2'. */
  dataset: string;
  /** The model's features in input order (declared names, or f0..fD-1 for an unnamed tensor). */
  features: readonly string[];
  /**
   * True when `features` are placeholders (an unnamed tensor): the dataset's columns name them by
   * position. Default: whether they are exactly f0..fD-1.
   */
  positional?: boolean;
  /** The dataset's columns, in order. */
  columns: readonly string[];
  /** Columns that are never features (the target, the slice column). */
  exclude?: readonly string[];
  /** An explicit mapping: the dataset column for each feature, in order (`--features a,b,c`). */
  explicit?: readonly string[];
}

/**
 * The dataset column feeding each model feature, in the model's feature order, or a ValidationError
 * (field 'features') naming both widths, the model and the dataset, or the missing columns.
 */
export function featureColumns(req: FeatureColumnsRequest): string[] {
  const width = req.features.length;
  const available = new Set(req.columns);
  const missingOf = (names: readonly string[]) => names.filter((n) => !available.has(n));
  if (req.explicit !== undefined) {
    if (req.explicit.length !== width) {
      throw new ValidationError(
        `--features names ${req.explicit.length} columns, but ${req.model} takes ${width} features`,
        { field: 'features', modelWidth: width, given: req.explicit.length },
      );
    }
    const missing = missingOf(req.explicit);
    if (missing.length > 0) {
      throw new ValidationError(
        `--features: ${req.dataset} has no column ${missing.map((m) => `'${m}'`).join(', ')} (columns: ${req.columns.join(', ')})`,
        { field: 'features', missing },
      );
    }
    return [...req.explicit];
  }
  const missing = missingOf(req.features);
  const positional = req.positional ?? req.features.every((f, j) => f === `f${j}`);
  if (!positional || missing.length === 0) {
    if (missing.length > 0) {
      throw new ValidationError(
        `${req.dataset} lacks the features of ${req.model}: ${missing.join(', ')} (columns: ${req.columns.join(', ')}); map them with --features`,
        { field: 'features', missing },
      );
    }
    return [...req.features];
  }
  // Placeholders (f0, f1, ...) the dataset does not hold: its columns in order name them.
  const excluded = new Set(req.exclude ?? []);
  const candidates = req.columns.filter((c) => !excluded.has(c));
  if (candidates.length !== width) {
    throw new ValidationError(
      `${req.model} takes ${width} columns at once (one float tensor), but ${req.dataset} has ${candidates.length} feature columns (${preview(candidates)}); name the model's columns with --features a,b,...`,
      { field: 'features', modelWidth: width, datasetWidth: candidates.length },
    );
  }
  return candidates;
}

/**
 * Records keyed by the model's feature names for the given rows of a table (a row count: rows
 * 0..n-1), column j of `columns` feeding features[j].
 */
export function featureRecords(
  valuesOf: (column: string) => ArrayLike<unknown> | undefined,
  features: readonly string[],
  columns: readonly string[],
  rows: number | readonly number[],
): Record<string, unknown>[] {
  const values = columns.map((c) => valuesOf(c));
  const n = typeof rows === 'number' ? rows : rows.length;
  const out: Record<string, unknown>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = typeof rows === 'number' ? i : rows[i]!;
    const rec: Record<string, unknown> = {};
    for (let j = 0; j < features.length; j++) rec[features[j]!] = values[j]?.[r];
    out[i] = rec;
  }
  return out;
}

function preview(names: readonly string[]): string {
  return names.length <= 8 ? names.join(', ') : `${names.slice(0, 8).join(', ')}, ...`;
}
