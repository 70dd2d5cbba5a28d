/** The built-in trainers (linear, gradient-boosted trees) and their ONNX export. */

/** Scores a stored ONNX model on a dataset version (`sextant evaluate`). */
export {
  type EvaluateOutcome,
  type EvaluateRequest,
  evaluateModel,
  loadEndpointRecord,
  loadStoredModel,
} from './evaluation.service.js';
/** Metrics of one task as logged on runs (flat) and in reports (full), overall and per slice. */
export { type EvaluationSummary, flatMetrics, summarize, summarizeSlices } from './evaluation-report.js';
/** Which dataset column feeds which model feature (evaluation, batch scoring, backgrounds, references share it). */
export {
  declaredFeatureNames,
  type FeatureColumnsRequest,
  featureColumns,
  featureRecords,
  parseFeatureList,
  placeholderNames,
  tensorFeatureNames,
} from './feature-columns.js';
/** The median stopping rule on best-so-far curves; the board a trial reports to (memory or database). */
export {
  type MedianRuleOptions,
  MedianStoppingBoard,
  memoryStoppingBoard,
  type StoppingBoard,
} from './median-stopping.js';
/** Evaluation metrics: classification (accuracy ... calibration), regression (MAE, RMSE, R2, MAPE), slices. */
export {
  averagePrecision,
  type CalibrationBin,
  type ClassificationMetrics,
  type ConfusionMatrix,
  calibrationTable,
  classificationMetrics,
  logLoss,
  type RegressionMetrics,
  regressionMetrics,
  rocAuc,
  type SliceResult,
  sliceMetrics,
} from './metrics.js';
/** The subset of SextantApi that ml needs (any SextantApi fits it), and the registry lookups. */
export type { DatasetVersionLike, MlApi, ModelRegistryPort, ModelVersionLike } from './ml-port.js';
/** Spec checks and the pure fit of a dataset version (split by seed, fit, predictions, ONNX). */
export {
  type CheckedSpec,
  checkTrainSpec,
  type FitResult,
  fitOnDataset,
  TRAINER_KINDS,
  type TrainSpec,
} from './model-fit.js';
/** Loading a dataset version's table and turning it into model rows. */
/** Metrics of K > 2 classes: accuracy, macro/micro F1, per-class precision/recall, log loss, confusion matrix. */
export {
  type ClassMetrics,
  classKey,
  type MulticlassMetrics,
  multiclassMetrics,
} from './multiclass-metrics.js';
/** Retrains a run (byte-identical check) or re-runs a user's command (`sextant models reproduce`). */
export {
  type MetricDelta,
  type ReproduceOutcome,
  type ReproduceRequest,
  reproduceRun,
} from './reproduce.service.js';
/** A sweep trial as a job carries it, and a trial job's result. */
export { type SweepTrialPayload, sweepTrialPayloadSchema, trialResultSchema } from './sweep.schema.js';
/** Grid or random sweeps with a parallelism limit and median stopping (`sextant sweep`). */
export {
  inProcessTrialRunner,
  runSweep,
  type SweepOutcome,
  type SweepSpec,
  type TrialOutcome,
  type TrialRunner,
} from './sweep.service.js';
/** The median-stopping board in the database, shared by trials on any worker. */
export { databaseStoppingBoard } from './sweep-board.js';
/** Fits and records one trial of a sweep (a `sweep.trial` job's work). */
export { runTrial } from './sweep-trial.js';
/** Parses sweep options: `k=v1,v2` grids and `k=lo:hi[:log]` ranges. */
export { type ParamRange, parseGrid, parseRanges } from './sweep-trials.js';
/** The seeded synthetic credit-risk table with drift knobs, for demos, tests and benchmarks. */
export {
  CREDIT_PROTECTED,
  CREDIT_TARGET,
  type CreditData,
  type CreditDataOptions,
  creditDataToCsv,
  creditDataToTable,
  defaultProbability,
  generateCreditData,
  writeCreditCsv,
} from './synthetic.js';
/** A seeded three-class table (parcels routed to express, freight or standard) for tests and examples. */
export { generateParcelData, PARCEL_CLASSES, PARCEL_TARGET } from './synthetic-multiclass.js';
export { type LoadedDataset, loadDataset, rowRecords, splitRows } from './table-rows.js';
export * from './trainers/index.js';
/** Trains on a dataset version and records a tracked run (`sextant train`). */
export {
  ONNX_TOLERANCE,
  type RunOptions,
  recordTraining,
  resolveExperimentId,
  type TrainOutcome,
  trainModel,
} from './training.service.js';
/** Worker threads that fit trials, answering the stopping board between iterations. */
export { createTrialThreads, type TrialThreads } from './trial-threads.js';
