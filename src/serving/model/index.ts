/** Loads an ONNX model version for serving (ValidationError on a bad or hostile file); see ServingModel. */

/** What the micro-batcher reports: runs made, calls served. */
export type { BatcherStats } from './batcher.js';
export type { FeatureType, ModelKind, ServingFeature } from './model-plan.js';
/** The batch size refused unless a caller sets its own limit (parse's maxRecords). */
export { DEFAULT_MAX_RECORDS } from './record-check.js';
export { openServingModel, type ServingModel, type ServingModelOptions } from './serving-model.js';
