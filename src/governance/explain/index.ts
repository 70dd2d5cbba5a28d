/** The explanations background sample: seeded rows of a version's training data, cached per version. */
export { type BackgroundSource, createBackgroundSource, DEFAULT_BACKGROUND_SIZE } from './background.js';
/** Per-prediction feature attributions: exact linear, TreeSHAP, KernelSHAP. */
export {
  createExplainer,
  type Explainer,
  type ExplainPredictionOptions,
  type ExplainRecordsInput,
} from './explainer.service.js';
export * from './explanation.schema.js';
/** KernelSHAP of any scoring function against a background (the model-agnostic path). */
export { type KernelShapInput, type KernelShapResult, kernelShap, MAX_KERNEL_ROWS } from './kernel-shap.js';
/** Exact Shapley values of a linear model's margin, and interventional TreeSHAP of a tree ensemble. */
export { linearShap, type ShapResult } from './linear-shap.js';
export { treeShap } from './tree-shap.js';
