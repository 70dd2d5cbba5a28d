import type { GovernanceDeps } from '../governance-deps.js';

/** Per-prediction feature attributions: exact linear, TreeSHAP, KernelSHAP. */
export function createExplainer(_deps: GovernanceDeps) {
  return {
    /** SCAFFOLD: replaced by the explanations helper. */
    explainPrediction: async (_predictionId: string): Promise<unknown> => {
      throw new Error('explain: not built yet');
    },
  };
}
