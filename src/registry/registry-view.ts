import { toIso } from '../core/clock.js';
import type {
  AliasEventTable,
  ModelVersionTable,
  PromotionDecisionTable,
  PromotionRequestTable,
  RegisteredModelTable,
} from '../store/schema-registry.js';
import type {
  AliasEvent,
  CardField,
  GateResult,
  ModelVersion,
  PromotionRequest,
  RegisteredModel,
} from './registry.schema.js';

const json = <T>(text: string | null, fallback: T): T => (text === null ? fallback : (JSON.parse(text) as T));

export function toModel(
  row: RegisteredModelTable,
  latest: number | undefined,
  aliases: { alias: string; version: number }[],
): RegisteredModel {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    tags: json(row.tags, {}),
    latestVersion: latest ?? null,
    aliases,
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

export function toVersion(row: ModelVersionTable, model: string, aliases: string[]): ModelVersion {
  return {
    id: row.id,
    modelId: row.model_id,
    model,
    version: row.version,
    runId: row.run_id,
    runAuthor: row.run_author,
    source: row.source,
    format: row.format as ModelVersion['format'],
    sha256: row.sha256,
    size: row.size,
    files: json(row.files, []),
    signature: json(row.signature, null),
    datasetVersionIds: json(row.dataset_version_ids, []),
    codeCommit: row.code_commit,
    command: row.command,
    params: json(row.params, {}),
    metrics: json(row.metrics, {}),
    environment: json(row.environment, { source: 'registry' }),
    description: row.description,
    tags: json(row.tags, {}),
    card: json<Partial<Record<CardField, string>>>(row.card, {}),
    aliases,
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

export function toAliasEvent(row: AliasEventTable, model: string): AliasEvent {
  const approvals = json<AliasEvent['approvals'] | { emergency?: boolean; list?: AliasEvent['approvals'] }>(
    row.approvals,
    [],
  );
  const list = Array.isArray(approvals) ? approvals : (approvals.list ?? []);
  return {
    id: row.id,
    model,
    alias: row.alias,
    kind: row.kind as AliasEvent['kind'],
    fromVersion: row.from_version,
    toVersion: row.to_version,
    actor: row.actor,
    at: toIso(row.at),
    reason: row.reason,
    requestId: row.request_id,
    approvals: list,
    emergency: !Array.isArray(approvals) && approvals.emergency === true,
  };
}

/** A request as the API shows it; a pending request past its expiry reads as expired. */
export function toRequest(
  row: PromotionRequestTable,
  model: string,
  decisions: PromotionDecisionTable[],
  now: number,
): PromotionRequest {
  const status =
    row.status === 'pending' && now > row.expires_at ? 'expired' : (row.status as PromotionRequest['status']);
  const policy = json<{ approvals?: number }>(row.policy, {});
  return {
    id: row.id,
    model,
    version: row.version,
    alias: row.alias,
    kind: row.kind as PromotionRequest['kind'],
    status,
    fromVersion: row.from_version,
    requestedBy: row.requested_by,
    reason: row.reason,
    approvalsNeeded: policy.approvals ?? 1,
    decisions: decisions.map((d) => ({
      actor: d.actor,
      role: d.role,
      decision: d.decision as 'approve' | 'reject',
      comment: d.comment,
      at: toIso(d.at),
    })),
    openGates: json<GateResult[]>(row.open_gates, []),
    executionGates: json<GateResult[] | null>(row.execution_gates, null),
    createdAt: toIso(row.created_at),
    expiresAt: toIso(row.expires_at),
    decidedAt: row.decided_at === null ? null : toIso(row.decided_at),
  };
}
