import type { Generated } from 'kysely';
import type { BudgetTables } from './schema-budgets.js';
import type { CostTables } from './schema-cost.js';
import type { DataTables } from './schema-data.js';
import type { DataQualityTables } from './schema-data-quality.js';
import type { EventTables } from './schema-events.js';
import type { JobTables } from './schema-jobs.js';
import type { LoggedModelTables } from './schema-logged-models.js';
import type { MonitoringTables } from './schema-monitoring.js';
import type { MonitoringAlertTables } from './schema-monitoring-alerts.js';
import type { PipelineTables } from './schema-pipelines.js';
import type { RegistryTables } from './schema-registry.js';
import type { ServingTables } from './schema-serving.js';
import type { SweepTables } from './schema-sweeps.js';
import type { TriggerTables } from './schema-triggers.js';
import type { WebhookTables } from './schema-webhooks.js';

/*
 * Table types for every domain. Times are epoch milliseconds (bigint in PostgreSQL, parsed to number);
 * booleans are stored as 0/1 integers so both dialects read them the same way.
 */

export interface AuditEntryTable {
  seq: number;
  id: string;
  at: number;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string;
  before_digest: string | null;
  after_digest: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
  signature: string;
  updated_at: number;
}

export interface AuditCheckpointTable {
  seq: number;
  hash: string;
  at: number;
  signature: string;
  /** The checkpoint before this one (null for the first, and for checkpoints from before migration 009). */
  prev_seq: number | null;
  prev_signature: string | null;
}

export interface UserTable {
  id: string;
  name: string;
  role: string;
  created_at: number;
  disabled_at: number | null;
}

export interface ApiTokenTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  /** How the token was minted: 'authenticated' (by a signed-in admin), 'local' (the CLI on the workspace files), 'auth-off' (over HTTP with auth off), 'legacy'. */
  minted_under: string;
}

export interface ExperimentTable {
  id: Generated<number>;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface ExperimentTagTable {
  experiment_id: number;
  key: string;
  value: string;
}

export interface RunTable {
  id: string;
  experiment_id: number;
  name: string;
  status: string;
  lifecycle_stage: string;
  user_id: string;
  start_time: number;
  end_time: number | null;
  artifact_uri: string;
  git_commit: string | null;
  git_dirty: number | null;
  command: string | null;
  deleted_at: number | null;
  updated_at: number;
}

export interface ParamTable {
  run_id: string;
  key: string;
  value: string;
}

/** A run's integer surrogate key, given at its first metric (the history rows name runs by it). */
export interface RunNumberTable {
  num: Generated<number>;
  run_id: string;
}

/** A metric key name's integer id, shared by all runs (the history rows name keys by it). */
export interface MetricKeyTable {
  id: Generated<number>;
  name: string;
}

/** Metric history: every logged value, its run and key by surrogate key (migration 029). */
export interface MetricTable {
  id: Generated<number>;
  run_num: number;
  key_id: number;
  value: number | null;
  is_nan: number;
  timestamp: number;
  step: number;
}

export interface LatestMetricTable {
  run_id: string;
  key: string;
  value: number | null;
  is_nan: number;
  timestamp: number;
  step: number;
}

export interface RunTagTable {
  run_id: string;
  key: string;
  value: string;
}

export interface ArtifactTable {
  run_id: string;
  path: string;
  sha256: string;
  size: number;
  created_at: number;
}

export interface RunInputTable {
  id: string;
  run_id: string;
  direction: string;
  kind: string;
  name: string;
  digest: string;
  source: string | null;
  source_type: string | null;
  schema: string | null;
  profile: string | null;
  tags: string | null;
  dataset_version_id: string | null;
  created_at: number;
}

export interface Database
  extends DataTables,
    DataQualityTables,
    RegistryTables,
    WebhookTables,
    ServingTables,
    JobTables,
    LoggedModelTables,
    EventTables,
    SweepTables,
    PipelineTables,
    TriggerTables,
    BudgetTables,
    CostTables,
    MonitoringTables,
    MonitoringAlertTables {
  audit_entries: AuditEntryTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointTable;
  users: UserTable;
  api_tokens: ApiTokenTable;
  experiments: ExperimentTable;
  experiment_tags: ExperimentTagTable;
  runs: RunTable;
  params: ParamTable;
  run_numbers: RunNumberTable;
  metric_keys: MetricKeyTable;
  metrics: MetricTable;
  latest_metrics: LatestMetricTable;
  run_tags: RunTagTable;
  artifacts: ArtifactTable;
  run_inputs: RunInputTable;
}
