/*
 * The port through which cost reads how many predictions were served: the prediction log belongs to
 * serving (a `predictions` table and sealed segments), and cost needs only counts.
 */

/** Counts of the prediction log (serving's prediction store implements it). */
export interface ServedPredictions {
  /** Predictions per deployment and answering model version served in [from, to), failed ones included. */
  countByVersion(q: {
    from: number;
    to: number;
    deploymentId?: string | undefined;
  }): Promise<{ deploymentId: string; versionId: string; n: number }[]>;
}
