import { ValidationError } from '../../core/errors.js';
import type { TrainerKind } from './trainer.types.js';

export interface ParamSpec {
  default: number;
  description: string;
  min: number;
  max: number;
  /** Whole numbers only. */
  integer?: boolean;
  /** The lower bound itself is not allowed (e.g. a learning rate of 0). */
  exclusiveMin?: boolean;
}

const maxCategories: ParamSpec = {
  default: 50,
  min: 1,
  max: 10_000,
  integer: true,
  description:
    'categories kept per categorical feature (most frequent first); the rest, like unseen ones, encode as all zeros',
};

const specs: Record<TrainerKind, Record<string, ParamSpec>> = {
  linear: {
    l2: { default: 1, min: 0, max: 1e12, description: 'L2 penalty on the weights (not the intercept)' },
    max_iter: { default: 100, min: 1, max: 10_000, integer: true, description: 'Newton iterations at most' },
    tol: {
      default: 1e-8,
      min: 0,
      max: 1,
      description: 'stop when the objective improves by less than this fraction',
    },
    max_categories: maxCategories,
  },
  gbdt: {
    n_estimators: {
      default: 100,
      min: 1,
      max: 100_000,
      integer: true,
      description: 'boosting rounds (trees)',
    },
    learning_rate: {
      default: 0.1,
      min: 0,
      max: 10,
      exclusiveMin: true,
      description: 'shrinkage applied to each tree',
    },
    max_depth: { default: 6, min: 1, max: 20, integer: true, description: 'depth of each tree' },
    min_child_weight: {
      default: 1,
      min: 0,
      max: 1e12,
      description: 'least hessian sum in a leaf (rows for regression, p(1-p) sums for classification)',
    },
    min_samples_leaf: { default: 1, min: 1, max: 1e9, integer: true, description: 'least rows in a leaf' },
    min_split_gain: { default: 0, min: 0, max: 1e12, description: 'least loss reduction to make a split' },
    subsample: {
      default: 1,
      min: 0,
      max: 1,
      exclusiveMin: true,
      description: 'fraction of rows drawn (seeded, without replacement) for each tree',
    },
    colsample: {
      default: 1,
      min: 0,
      max: 1,
      exclusiveMin: true,
      description: 'fraction of features drawn (seeded) for each tree',
    },
    l2: { default: 1, min: 0, max: 1e12, description: 'L2 penalty (lambda) on leaf values' },
    max_bin: {
      default: 255,
      min: 2,
      max: 255,
      integer: true,
      description: 'histogram bins per numeric feature (quantiles)',
    },
    max_categories: maxCategories,
  },
};

/** The params a trainer accepts, with defaults and a description (for --help and the docs). */
export function trainerParams(
  kind: TrainerKind,
): Record<string, { default: number | string; description: string }> {
  const out: Record<string, { default: number | string; description: string }> = {};
  for (const [name, spec] of Object.entries(specs[kind])) {
    out[name] = { default: spec.default, description: spec.description };
  }
  return out;
}

/** Fills defaults and checks names, types and ranges; strings (from `--param k=v`) are parsed. */
export function resolveParams(
  kind: TrainerKind,
  given: Record<string, string | number> | undefined,
): Record<string, number> {
  const table = specs[kind];
  const out: Record<string, number> = {};
  for (const [name, spec] of Object.entries(table)) out[name] = spec.default;
  for (const [name, raw] of Object.entries(given ?? {})) {
    const spec = table[name];
    const field = `params.${name}`;
    if (spec === undefined) {
      throw new ValidationError(
        `unknown param '${name}' for the ${kind} trainer (known: ${Object.keys(table).join(', ')})`,
        { field },
      );
    }
    const value = typeof raw === 'number' ? raw : raw.trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value))
      throw new ValidationError(`${field} must be a number, got '${raw}'`, { field });
    if (spec.integer === true && !Number.isInteger(value)) {
      throw new ValidationError(`${field} must be a whole number, got ${value}`, { field });
    }
    const belowMin = spec.exclusiveMin === true ? value <= spec.min : value < spec.min;
    if (belowMin || value > spec.max) {
      const low = spec.exclusiveMin === true ? `(${spec.min}` : `[${spec.min}`;
      throw new ValidationError(`${field} must be in ${low}, ${spec.max}], got ${value}`, { field });
    }
    out[name] = value;
  }
  return out;
}

/** Reads a resolved param that the spec table guarantees exists. */
export function param(params: Record<string, number>, name: string): number {
  const v = params[name];
  if (v === undefined) throw new Error(`param ${name} missing after resolution`);
  return v;
}
