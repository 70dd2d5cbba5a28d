/** Trains a linear or gradient-boosted model on a table (ValidationError on bad input, before any work). */
export { fitModel } from './fit-model.js';
/** Runs an ONNX model in onnxruntime-node: predictions, and parity against in-process ones. */
export { checkOnnx, predictOnnx } from './onnx-runtime.js';
export type {
  FeatureSpec,
  FitOptions,
  FittedModel,
  IterationInfo,
  ModelSignature,
  Task,
  TrainerKind,
  TrainingTable,
} from './trainer.types.js';
/** The params each trainer accepts, with defaults and descriptions. */
export { trainerParams } from './trainer-params.js';
