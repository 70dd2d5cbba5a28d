/*
 * Table types of cost (migration 018): what the meters measured, and the price book's versions.
 * Quantities are stored raw (seconds, bytes); prices are applied when a report is asked for, so a
 * corrected price book reprices the past without rewriting usage.
 */

export interface CostUsageTable {
  id: string;
  /** 'run' (a tracked run's process), 'job' (a job attempt), 'deployment' (a serving interval). */
  kind: string;
  run_id: string | null;
  job_id: string | null;
  deployment_id: string | null;
  model_version_id: string | null;
  /** Where it ran (host name, worker id), for reading; not attributed. */
  host: string | null;
  started_at: number;
  /** Never before started_at: a skewed clock is clamped and flagged in notes. */
  ended_at: number;
  wall_seconds: number;
  cpu_seconds: number | null;
  peak_memory_bytes: number | null;
  /** What the work asked for (cores, bytes); allocation is max(requested, used). */
  requested_cpus: number | null;
  requested_memory_bytes: number | null;
  /** GPU model name of the devices used (the price book's gpu_hour key); null without a GPU. */
  gpu_model: string | null;
  /** Device-seconds held (devices x wall time). */
  gpu_seconds: number | null;
  /** JSON: [{ index, uuid, name, seconds, utilizationAvg, memoryPeakMib }] per device. */
  gpu_devices: string | null;
  instance_type: string | null;
  instance_seconds: number | null;
  /** Predictions served in the interval (deployments), for cost per 1,000 predictions. */
  predictions: number | null;
  /** JSON array of strings: why a figure is missing, clamped clock skew. */
  notes: string | null;
  /** Storage records (kind 'storage', migration 022): the dataset version they are attributed to. */
  dataset_version_id: string | null;
  /** Storage records: bytes held over the interval (this referrer's share of deduplicated blobs). */
  storage_bytes: number | null;
  recorded_at: number;
  recorded_by: string;
}

export interface CostPriceBookTable {
  /** 1, 2, ...: each `cost prices set` is a new version; the newest is in force. */
  version: number;
  currency: string;
  /** The validated price book as JSON (its canonical form). */
  document: string;
  created_by: string;
  created_at: number;
}

export interface CostTables {
  cost_usage: CostUsageTable;
  cost_price_books: CostPriceBookTable;
}
