/*
 * Table types of the monitoring domain. A monitor watches one deployment under a YAML spec (versioned:
 * each edit of the spec is a new version); a reference is what a model version's traffic is compared
 * with, stored per (monitor version, model version) so a re-run measures against the same thing; a run
 * is one pass over one window; a metric point is one measurement of a run (metric-point.schema.ts).
 */

export interface MonitorTable {
  id: string;
  deployment_id: string;
  name: string;
  /** The YAML as the user wrote it, and its parsed, defaulted form (JSON). */
  spec_yaml: string;
  spec: string;
  /** sha256 of the canonical parsed spec; version goes up by one when it changes. */
  spec_digest: string;
  version: number;
  created_by: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface MonitorReferenceTable {
  id: string;
  monitor_id: string;
  monitor_version: number;
  model_version_id: string;
  /** 'training' | 'dataset' | 'traffic' */
  source: string;
  /** What it was taken from: `credit@3`, or the traffic window `[start, end)` in ISO. */
  source_ref: string;
  row_count: number;
  /** JSON: ColumnProfile[] (data/tables), one per feature and output the reference knows. */
  profiles: string;
  /** JSON: { [column]: raw values } when the reference has raw values (traffic), else null. */
  sample: string | null;
  /**
   * JSON: the CBPE model fitted for this reference ({ model, source, sourceRef, reason }), or null
   * until one is fitted (migration 020). Stored once, so estimates stay comparable across runs.
   */
  cbpe: string | null;
  created_at: number;
}

/**
 * A concept-drift detector's state after the last run of (monitor, model version, detector), so the
 * next window resumes the stream instead of starting over (migration 020).
 */
export interface MonitorDetectorStateTable {
  monitor_id: string;
  model_version_id: string;
  /** 'ddm' | 'adwin' | 'page_hinkley' */
  detector: string;
  /** JSON: the detector's state() (detectors/create-detector.ts). */
  state: string;
  /** Rows fed so far: the offset of the next window's row indices. */
  rows_seen: number;
  /** The end of the last window fed; a window ending at or before it is not fed again. */
  window_end: number;
  updated_at: number;
}

export interface MonitorRunTable {
  id: string;
  monitor_id: string;
  deployment_id: string;
  monitor_version: number;
  window_start: number;
  window_end: number;
  /** 'running' | 'completed' | 'failed' */
  status: string;
  /** 'schedule' | 'manual' */
  trigger: string;
  rows: number;
  points: number;
  error: string | null;
  started_at: number;
  finished_at: number | null;
  created_by: string;
}

export interface MetricPointTable {
  id: string;
  run_id: string;
  monitor_id: string;
  deployment_id: string;
  model_version_id: string;
  /** The model's name and version number, so registry gates read points without a join across domains. */
  model: string;
  model_version: number;
  metric: string;
  feature: string | null;
  slice: string | null;
  window_start: number;
  window_end: number;
  value: number | null;
  status: string;
  /** JSON object. */
  details: string;
  created_at: number;
}

export interface MonitoringTables {
  monitors: MonitorTable;
  monitor_references: MonitorReferenceTable;
  monitor_runs: MonitorRunTable;
  metric_points: MetricPointTable;
  monitor_detector_states: MonitorDetectorStateTable;
}
