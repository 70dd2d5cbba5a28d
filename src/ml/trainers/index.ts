/** Trains a linear or gradient-boosted model on a table (ValidationError on bad input, before any work). */
export { fitModel } from './fit-model.js';
/** A built-in model's internals read back from its ONNX file (`sextant.explain`), and its core evaluated in double. */
export {
  classInternals,
  columnFeatures,
  coreMargins,
  type EncodedMatrix,
  EXPLAIN_METADATA_KEY,
  encodeForCore,
  type InternalsCore,
  internalsClassCount,
  internalsFeatures,
  type ModelInternals,
  readModelInternals,
} from './model-internals.js';
/** The ONNX protobuf encoder, for tests that build models by hand (hostile inputs, foreign shapes). */
export { DataType, encodeModel, type NodeMessage, type TensorMessage } from './onnx-proto.js';
/** Runs an ONNX model in onnxruntime-node: predictions, and parity against in-process ones. */
export { checkOnnx, type OnnxPredictor, openOnnxPredictor, predictOnnx } from './onnx-runtime.js';
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
