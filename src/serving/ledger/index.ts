/*
 * The prediction log of serving: the ledger that records every served prediction (group commit,
 * durable or async, bounded), the read side for listings and monitoring scans, and delayed labels.
 */

export type { LedgerWriter } from './ledger-writer.js';
/** Opens the group-committing prediction ledger of a store. */
export {
  type LedgerOptions,
  type LedgerStats,
  openPredictionLedger,
  type PredictionLedger,
} from './prediction-ledger.js';
export type { PredictionRecord } from './prediction-row.js';
