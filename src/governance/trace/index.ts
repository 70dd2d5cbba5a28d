import type { GovernanceDeps } from '../governance-deps.js';

/** Prediction trace: prediction -> model version, alias, approvals -> run -> datasets -> upstream. */
export function createPredictionTracer(_deps: GovernanceDeps) {
  return {
    /** SCAFFOLD: replaced by the trace helper. */
    trace: async (_predictionId: string): Promise<unknown> => {
      throw new Error('trace: not built yet');
    },
  };
}
