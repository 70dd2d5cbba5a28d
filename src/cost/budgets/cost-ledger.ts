/*
 * The port budgets read spend through. C1's src/cost/index.ts exports the same interface (built on
 * meters, the price book and attribution); this local copy lets budgets build and test against it
 * before that lands, and is replaced by an import of it once merged.
 */

/** What a spend figure is about: one experiment, a run tag 'key=value', a team, ... or everything. */
export interface CostScope {
  kind: 'experiment' | 'tag' | 'team' | 'model' | 'deployment' | 'all';
  value?: string;
}

/** Reads attributed spend: the amount a scope accrued in [from, to) (epoch ms). */
export interface CostLedger {
  spent(input: { scope: CostScope; from: number; to: number }): Promise<{
    amount: number;
    currency: string;
    usageRows: number;
  }>;
}

/** Spends nothing: the wiring's ledger until the meters (C1) are merged, so no budget ever trips. */
export const noSpendLedger: CostLedger = {
  spent: async () => ({ amount: 0, currency: 'USD', usageRows: 0 }),
};
