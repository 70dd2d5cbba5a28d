/*
 * Table types of MLflow 3's logged models: a model logged to an experiment (usually by a run), with
 * its own params and tags; the runs that produced or read it; and the multipart uploads in flight
 * through the artifact proxy.
 */

export interface LoggedModelTable {
  /** `m-<ulid>`: MLflow clients tell a model id from a registry name by the `m-` prefix. */
  id: string;
  experiment_id: string;
  name: string;
  model_type: string | null;
  /** The run whose artifact store holds the model's files; null for a model logged outside a run. */
  source_run_id: string | null;
  /** 'PENDING' | 'READY' | 'FAILED' (LoggedModelStatus). */
  status: string;
  status_message: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  /** 'active' | 'deleted': deletes are soft. */
  lifecycle_stage: string;
}

export interface LoggedModelParamTable {
  model_id: string;
  key: string;
  value: string;
}

export interface LoggedModelTagTable {
  model_id: string;
  key: string;
  value: string;
}

export interface RunModelLinkTable {
  run_id: string;
  model_id: string;
  /** 'input' | 'output'. */
  direction: string;
  step: number;
  created_at: number;
}

export interface MultipartUploadTable {
  /** Random, unguessable: the upload's parts are addressed by it. */
  id: string;
  run_id: string;
  path: string;
  num_parts: number;
  created_by: string;
  created_at: number;
}

export interface MultipartPartTable {
  upload_id: string;
  part_number: number;
  sha256: string;
  size: number;
}

/** A file of a logged model without a source run (a run-produced model keeps its files in the run). */
export interface LoggedModelArtifactTable {
  model_id: string;
  path: string;
  sha256: string;
  size: number;
  created_at: number;
}

/** A metric value linked to a logged model, logged by a run, optionally measured on a dataset. */
export interface LoggedModelMetricTable {
  model_id: string;
  key: string;
  value: number | null;
  is_nan: number;
  timestamp: number;
  step: number;
  run_id: string;
  /** '' when no dataset was named. */
  dataset_name: string;
  dataset_digest: string;
}

export interface LoggedModelTables {
  logged_model_artifacts: LoggedModelArtifactTable;
  logged_model_metrics: LoggedModelMetricTable;
  logged_models: LoggedModelTable;
  logged_model_params: LoggedModelParamTable;
  logged_model_tags: LoggedModelTagTable;
  run_model_links: RunModelLinkTable;
  multipart_uploads: MultipartUploadTable;
  multipart_parts: MultipartPartTable;
}
