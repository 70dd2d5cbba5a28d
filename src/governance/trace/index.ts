export * from './trace.schema.js';
/** Traces a prediction: model version, alias at that moment and its approvals, run, datasets, upstream. */
export { createPredictionTracer, type PredictionTracer } from './trace.service.js';
/** The human (indented text) view of a prediction trace. */
export { formatTrace } from './trace-format.js';
