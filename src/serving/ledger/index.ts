/*
 * The prediction log of serving: the ledger that records every served prediction (group commit,
 * durable or async, bounded), the read side for listings and monitoring scans, and delayed labels.
 */

export type { FeedbackService, SubmitFeedbackInput } from './feedback.service.js';
/** Records delayed labels (idempotent: the same label twice counts once; a different one is a conflict). */
export { createFeedbackService } from './feedback.service.js';
export type { LedgerWriter } from './ledger-writer.js';
export type { PredictionColumnQuery } from './prediction-column-scan.js';
export type {
  FeatureColumn,
  PredictionAnswer,
  PredictionColumns,
  RowLabel,
} from './prediction-columns.js';
export type { ExportWindow, PredictionExporter } from './prediction-export.js';
/** Writes a deployment's prediction log over a window as CSV, JSON lines or Parquet, streamed, labels joined. */
export {
  createPredictionExporter,
  describeWindow,
  EXPORT_COLUMNS,
  EXPORT_MEDIA_TYPES,
} from './prediction-export.js';
export type { LedgerOptions, LedgerStats, PredictionLedger } from './prediction-ledger.js';
/** Opens the group-committing prediction ledger of a store (durable by default). */
export { openPredictionLedger } from './prediction-ledger.js';
export type { PredictionBatch, PredictionRecord } from './prediction-row.js';
export type { ListPredictionsInput, PredictionScanQuery, PredictionStore } from './prediction-store.js';
/** Reads the prediction log: get/find one, list newest first (cursor), scan oldest first (monitoring). */
export { createPredictionStore, toPrediction } from './prediction-store.js';
export type { PredictionPruner } from './segment-prune.js';
/** `predictions prune`: drops whole sealed segments served before a time (audited); says what it dropped. */
export { createPredictionPruner } from './segment-prune.js';
export type { SegmentReader } from './segment-reader.js';
/** Reads the segment log: one prediction by id, the rows of a window (sealed segments through DuckDB). */
export { createSegmentReader } from './segment-reader.js';
export type { PredictionLogConfig, SegmentLogOptions } from './segment-writer.js';
/** The ledger writer appending group commits to segment files (sealed into Parquet blobs); recovery of leftovers. */
export { recoverOpenSegments, segmentWriter } from './segment-writer.js';
