/*
 * Table types of the registry domain. Times are epoch ms; JSON travels as text; booleans as 0/1.
 * A model's `name_key` is its normalised name (URL-decoded, NFKC, case-folded): the unique index on it
 * is what makes "Fraud", "fraud" and "fr%61ud" one name. A soft-deleted model gives its key up.
 */

export interface RegisteredModelTable {
  id: string;
  name: string;
  name_key: string | null;
  description: string | null;
  tags: string;
  /** The last version number handed out; incremented under the row lock, never reused. */
  last_version: number;
  created_by: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface ModelVersionTable {
  id: string;
  model_id: string;
  version: number;
  run_id: string | null;
  /** Where the files came from: `runs:/<run>/<path>` or `file:<name>`. */
  source: string;
  format: string;
  sha256: string;
  size: number;
  /** [{ path, sha256, size }] of the version's files, the primary (model) file first. */
  files: string;
  signature: string | null;
  dataset_version_ids: string;
  code_commit: string | null;
  command: string | null;
  params: string;
  metrics: string;
  environment: string;
  run_author: string | null;
  description: string | null;
  tags: string;
  card: string;
  created_by: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface ModelAliasTable {
  model_id: string;
  alias: string;
  version: number;
  updated_by: string;
  updated_at: number;
}

/** One move of an alias; rows are only ever inserted (the history is immutable). */
export interface AliasEventTable {
  id: string;
  model_id: string;
  alias: string;
  kind: string;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  at: number;
  reason: string | null;
  request_id: string | null;
  approvals: string;
}

export interface PromotionRequestTable {
  id: string;
  model_id: string;
  version: number;
  alias: string;
  kind: string;
  status: string;
  /** `<model_id>/<alias>` while pending, else null: the unique index allows one open request per alias. */
  open_key: string | null;
  from_version: number | null;
  requested_by: string;
  reason: string | null;
  policy: string;
  open_gates: string;
  execution_gates: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  updated_at: number;
}

export interface PromotionDecisionTable {
  id: string;
  request_id: string;
  actor: string;
  role: string;
  decision: string;
  comment: string | null;
  at: number;
}

/** Promotion policies as YAML: one row per model id, '*' for the default. */
export interface RegistryPolicyTable {
  scope: string;
  yaml: string;
  updated_by: string;
  updated_at: number;
}

export interface RegistryTables {
  registered_models: RegisteredModelTable;
  model_versions: ModelVersionTable;
  model_aliases: ModelAliasTable;
  alias_events: AliasEventTable;
  promotion_requests: PromotionRequestTable;
  promotion_decisions: PromotionDecisionTable;
  registry_policies: RegistryPolicyTable;
}
