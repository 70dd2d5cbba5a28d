/*
 * Table types of serving. A deployment follows a model ref (an alias, or a pinned version number) and
 * may carry a challenger in shadow or canary mode. The prediction log is append-only: one row per
 * prediction, written by the ledger in group commits; a label (delayed feedback) is at most one row per
 * prediction, so feedback sent twice never counts twice. JSON travels as text; times are epoch ms.
 */

import type { Generated } from 'kysely';

/** One process serving a deployment: its heartbeat (migration 010; request counts: 023). */
export interface DeploymentRuntimeTable {
  id: string;
  deployment_id: string;
  host: string;
  pid: number;
  /** The URL it listens on, e.g. http://127.0.0.1:5001. */
  address: string;
  started_at: number;
  beat_at: number;
  stopped_at: number | null;
  /** Predict requests this process answered, cumulative since it started (default 0). */
  requests_ok: Generated<number>;
  /** Predict requests it failed, cumulative (default 0). */
  requests_failed: Generated<number>;
  /** JSON {code: count} of the failed ones (default '{}'). */
  errors_by_code: Generated<string>;
}

export interface DeploymentTable {
  id: string;
  /** Unique among live deployments (deleted ones give their name up). */
  name: string;
  /** The model's name when the deployment was bound to it (shown); model_id is what it follows. */
  model: string;
  /** The registered model's id: a rename keeps it, a new model of the old name does not take it. */
  model_id: string | null;
  /** What the deployment follows: an alias name, or a version number written as digits. */
  ref: string;
  challenger_ref: string | null;
  /** 'shadow' | 'canary' when there is a challenger. */
  challenger_mode: string | null;
  /** Canary only: the share of request keys (0-100) the challenger answers. */
  canary_percent: number | null;
  /** 'durable' | 'async'. */
  ledger_mode: string;
  /** JSON: the deployment's override of its external model's resilience settings (migration 025). */
  resilience: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface PredictionTable {
  id: string;
  deployment_id: string;
  model_version_id: string;
  model: string;
  version: number;
  /** The alias the answering version was served under, when the deployment follows one. */
  alias: string | null;
  /** 'champion' | 'challenger' (a canary challenger answered). */
  role: string;
  served_at: number;
  request_key: string | null;
  /** JSON object: the record as the model received it (after validation). */
  inputs: string;
  /** JSON object: PredictionOutput. */
  outputs: string;
  latency_us: number;
  shadow_version_id: string | null;
  /** JSON PredictionOutput of the shadow challenger (null when it failed or there is none). */
  shadow_outputs: string | null;
  shadow_error: string | null;
  /** JSON {code, message} when the model server failed (outputs is then JSON null); migration 025. */
  error: string | null;
}

export interface PredictionLabelTable {
  prediction_id: string;
  /** JSON of the true outcome (number, string or boolean). */
  label: string;
  deployment_id: string;
  model_version_id: string;
  received_at: number;
  received_by: string;
}

/** One segment of the columnar prediction log (migration 028): 'open' (a local file) or 'sealed' (a Parquet blob). */
export interface PredictionSegmentTable {
  id: string;
  deployment_id: string;
  /** JSON array of model version ids. */
  model_version_ids: string;
  state: string;
  path: string | null;
  host: string;
  row_count: number;
  first_at: number | null;
  last_at: number | null;
  min_id: string | null;
  max_id: string | null;
  blob_key: string | null;
  bytes: number | null;
  created_at: number;
  sealed_at: number | null;
}

export interface ServingTables {
  deployments: DeploymentTable;
  deployment_runtimes: DeploymentRuntimeTable;
  predictions: PredictionTable;
  prediction_labels: PredictionLabelTable;
  prediction_segments: PredictionSegmentTable;
}
