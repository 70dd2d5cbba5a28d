import { z } from 'zod';

/** How attributions were computed: exact for linear models, TreeSHAP for tree ensembles, KernelSHAP otherwise. */
export const explanationMethodSchema = z.enum(['linear', 'tree', 'kernel']);
export type ExplanationMethod = z.infer<typeof explanationMethodSchema>;

/**
 * The scale the attributions add up on: log-odds of the positive class (linear and tree classifiers),
 * a class's softmax margin (multiclass linear and tree classifiers: p_k = softmax(margins)_k),
 * P(positive) (KernelSHAP of a classifier), or the model's value (regressors, unknown models).
 */
export const explanationSpaceSchema = z.enum(['log_odds', 'margin', 'probability', 'value']);
export type ExplanationSpace = z.infer<typeof explanationSpaceSchema>;

/** One class's attributions of a multiclass prediction: baseValue + sum(attributions) = output (its margin). */
export const classExplanationSchema = z.object({
  baseValue: z.number(),
  output: z.number(),
  attributions: z.record(z.string(), z.number()),
});

/**
 * Feature attributions of one prediction (interventional Shapley values against a background
 * sample): baseValue + sum(attributions) = output. A categorical feature is one player (all its
 * one-hot columns together).
 */
export const explanationSchema = z.object({
  method: explanationMethodSchema,
  space: explanationSpaceSchema,
  /** The mean model output over the background rows (the expected value). */
  baseValue: z.number(),
  /** The model output for this record, in `space`. */
  output: z.number(),
  /** Per original feature, in the model's input order. */
  attributions: z.record(z.string(), z.number()),
  /** True when the attributions are the exact Shapley values for this background (no sampling). */
  exact: z.boolean(),
  /**
   * Bound on the error of each attribution: float rounding for exact methods; for sampled KernelSHAP,
   * three bootstrap standard errors (the largest over the features). baseValue + sum(attributions)
   * equals output to float rounding in every method (the efficiency constraint is enforced).
   */
  tolerance: z.number(),
  /** Rows of the background sample the attributions are measured against. */
  backgroundSize: z.number().int(),
  /** KernelSHAP: coalitions evaluated; null for the exact methods. */
  samples: z.number().int().nullable(),
  /** The explained values of the features, as received. */
  features: z.record(z.string(), z.unknown()).optional(),
  /** Multiclass models: the class whose margin the top-level attributions explain (the predicted one). */
  class: z.string().optional(),
  /** Multiclass models with `classes: 'all'`: every class's attributions, keyed by class. */
  perClass: z.record(z.string(), classExplanationSchema).optional(),
});
export type Explanation = z.infer<typeof explanationSchema>;

/** Options of an explanation request (HTTP query / CLI flags). */
export const explainOptionsSchema = z.strictObject({
  /** auto: exact linear or TreeSHAP for models Sextant trained, KernelSHAP for any other; kernel: always KernelSHAP. */
  method: z.enum(['auto', 'kernel']).default('auto'),
  /** KernelSHAP coalition budget (all coalitions are enumerated when 2^M - 2 fits in it). */
  samples: z.coerce.number().int().min(16).max(100_000).optional(),
  /** Background rows sampled from the training data (default 100). */
  backgroundSize: z.coerce.number().int().min(1).max(10_000).optional(),
  /** Multiclass models: explain the predicted class (default) or every class (`perClass`). */
  classes: z.enum(['predicted', 'all']).default('predicted'),
  /** `<dataset>@<v>`: sample the background from this dataset version (for models without training data on record). */
  backgroundDataset: z
    .string()
    .trim()
    .max(300)
    .regex(/^[^@\s]+@[^@\s]+$/, 'must look like <dataset>@<version>')
    .optional(),
  /** Seed of the background sample and of KernelSHAP's coalitions (default 0). */
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
});
export type ExplainOptions = z.input<typeof explainOptionsSchema>;
