/** What a built-in trainer learns: a binary label (P(positive)) or a number. */
export type Task = 'classification' | 'regression';
/** The built-in model families. */
export type TrainerKind = 'linear' | 'gbdt';
/** A model input: numbers reach the model as float32, everything else as strings (one-hot encoded). */
export interface FeatureSpec {
  name: string;
  kind: 'numeric' | 'categorical';
}
/** The column-major table the trainers read (the same shape as data/tables `Table`). */
export interface TrainingTable {
  rowCount: number;
  columns: { name: string; type: string; values: (number | string | boolean | null)[] }[];
}
/** What `onIteration` receives after each boosting round (gbdt) or Newton step (linear). */
export interface IterationInfo {
  iteration: number;
  /** The most iterations this fit runs (trees, or the Newton step limit): progress displays use it. */
  of?: number;
  /**
   * On the held-out rows: `loss` is the mean log loss (classification) or mean squared error
   * (regression), lower is better; `metric` is ROC AUC (higher is better) or RMSE (lower is better).
   */
  validation?: { loss: number; metric: number };
}
/** Iteration callback: return false to stop early. */
export type IterationCallback = FitOptions['onIteration'];
export interface FitOptions {
  table: TrainingTable;
  target: string;
  /** Default: every column but the target, in table order. */
  features?: string[];
  task: Task;
  kind: TrainerKind;
  /** Values may be strings (as typed on a command line); unknown names are a ValidationError. */
  params?: Record<string, string | number>;
  seed: number;
  /**
   * gbdt: threads that build histograms. Default: min(cores, 4) for tables of a million training
   * cells (rows x features) or more, else 1, and 1 inside a worker thread (sweep trials already run
   * in parallel). The model is the same bytes for any count.
   */
  threads?: number;
  /** Row indices held out of training and scored after each iteration. */
  validation?: { rows: number[] };
  /** Return false to stop early; the model keeps the iterations done so far. */
  // biome-ignore lint/suspicious/noConfusingVoidType: callbacks may return nothing (the published contract)
  onIteration?(info: IterationInfo): boolean | void;
}
/** The contract of a trained model's ONNX file, stored beside it as signature.json. */
export interface ModelSignature {
  format: 'onnx';
  task: Task;
  target: string;
  trainer: TrainerKind;
  inputs: { name: string; type: 'float' | 'string' }[];
  outputs: { name: string; type: string }[];
  classes?: string[];
}
export interface FittedModel {
  kind: TrainerKind;
  task: Task;
  target: string;
  features: FeatureSpec[];
  /** Binary classification: [negative, positive] labels as strings. */
  classes?: string[];
  /** Resolved, with defaults. */
  params: Record<string, string | number>;
  /** P(positive) for classification, the value for regression; rows hold raw feature values. */
  predict(rows: Record<string, unknown>[]): Float64Array;
  /** Deterministic bytes: the same data, params and seed give the same file. */
  toOnnx(): Uint8Array;
  signature(): ModelSignature;
}
