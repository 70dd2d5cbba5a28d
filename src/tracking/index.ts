/** Run artifacts stored as blobs. */
export { type ArtifactService, createArtifactService } from './artifact.service.js';
/** Checks an artifact path and returns its normal form. */
export { normalizeArtifactPath } from './artifact-path.js';
/** Experiments: create, rename, tag, soft-delete and restore, search. */
export { createExperimentService, type ExperimentService, stagesOf } from './experiment.service.js';
export * from './logged-model.schema.js';
/** Logged models (MLflow 3): create, finalize, tags, params, run links. */
export { createLoggedModelService, type LoggedModelService } from './logged-model.service.js';
/** Files of logged models without a source run (MLflow 3's log_model outside a run). */
export {
  createLoggedModelArtifactService,
  type LoggedModelArtifactService,
} from './logged-model-artifact.service.js';
/** Caps of metric history reads: page size (default and max) and bulk-interval runs and points. */
export {
  HISTORY_BULK_POINTS_MAX,
  HISTORY_BULK_RUNS_MAX,
  HISTORY_PAGE_DEFAULT,
  HISTORY_PAGE_MAX,
} from './metric-history.js';
/** Metric history rows with run ids and key names (checks and tools; the table holds surrogate keys). */
export { namedMetricHistory } from './metric-history.repo.js';
/** Multipart artifact uploads: parts stored as blobs, joined into one artifact on completion. */
export {
  createMultipartUploadService,
  MULTIPART_MAX_PARTS,
  type MultipartUploadService,
} from './multipart-upload.service.js';
/** MLflow-style opaque page tokens. */
export { decodePageToken, encodePageToken } from './page-token.js';
/** Runs: lifecycle, params, metrics, tags, inputs. */
export {
  createRunService,
  GIT_COMMIT_TAG,
  RUN_NAME_TAG,
  type RunService,
  type RunServiceHooks,
  USER_TAG,
} from './run.service.js';
/** A run's params, latest metrics and tags as JSON text written by the database. */
export type { RunDataJson } from './run-data-json.repo.js';
/** MLflow-compatible run search. */
export {
  createRunSearch,
  type RunSearch,
  type RunSearchJsonPage,
  SEARCH_DATA_CHUNK,
  type SearchRunsInput,
} from './run-search.service.js';
/** A run without its params, metrics and tags. */
export type { RunSummary } from './run-view.js';
/** A stored metric value in its JSON form. */
export { metricValueOut } from './run-view.js';
export * from './tracking.schema.js';
