import type { Readable } from 'node:stream';
import type { AuditEntry, AuditVerifyResult } from '../audit/audit.schema.js';
import type { CreatedToken, Principal, Role, Token, User } from '../auth/auth.schema.js';
import type {
  ArtifactEntry,
  CreateRunInput,
  Experiment,
  LogBatchInput,
  LogInputsInput,
  Metric,
  Run,
  RunSearchQuery,
  RunStatus,
  ViewType,
} from '../tracking/tracking.schema.js';
import type { AlertsApi } from './alerts-api.js';
import type { BudgetsApi } from './budgets-api.js';
import type { ComplianceApi } from './compliance-api.js';
import type { CostApi } from './cost-api.js';
import type { DataApi } from './data-api.js';
import type { DataQualityApi } from './data-quality-api.js';
import type { JobsApi } from './jobs-api.js';
import type { LineageApi } from './lineage-api.js';
import type { ModelsApi } from './models-api.js';
import type { MonitoringApi } from './monitoring-api.js';
import type { PipelinesApi } from './pipelines-api.js';
import type { ReaperApi } from './reaper-api.js';
import type { ServingApi } from './serving-api.js';
import type { TriggersApi } from './triggers-api.js';
import type { WebhooksApi } from './webhooks-api.js';

export interface Checkpoint {
  seq: number;
  hash: string;
  at: number;
  signature: string;
  /** The checkpoint before this one, which its signature covers. */
  prevSeq?: number | null;
  prevSignature?: string | null;
}

/**
 * Everything the CLI (and any TypeScript caller) can ask of Sextant. Two transports implement it:
 * HTTP against a server (createHttpClient) and in-process on a local workspace (the CLI's local API),
 * so every command behaves the same either way.
 */
export interface SextantApi {
  me(): Promise<Principal>;
  experiments: {
    list(q?: { viewType?: ViewType; filter?: string; maxResults?: number; pageToken?: string }): Promise<{
      experiments: Experiment[];
      nextPageToken?: string;
    }>;
    create(input: { name: string; tags?: Record<string, string> }): Promise<Experiment>;
    get(id: string): Promise<Experiment>;
    getByName(name: string): Promise<Experiment>;
    delete(id: string): Promise<void>;
    restore(id: string): Promise<void>;
  };
  runs: {
    create(input: Partial<CreateRunInput>): Promise<Run>;
    get(id: string): Promise<Run>;
    update(id: string, patch: { status?: RunStatus; endTime?: number; name?: string }): Promise<Run>;
    delete(id: string): Promise<void>;
    search(q: RunSearchQuery): Promise<{ runs: Run[]; nextPageToken?: string }>;
    logBatch(id: string, batch: LogBatchInput): Promise<void>;
    logInputs(id: string, inputs: LogInputsInput): Promise<void>;
    metricHistory(id: string, key: string): Promise<Metric[]>;
    listArtifacts(id: string, path?: string): Promise<ArtifactEntry[]>;
    uploadArtifact(
      id: string,
      path: string,
      content: Readable | Uint8Array | string,
    ): Promise<{ sha256: string; size: number }>;
    downloadArtifact(id: string, path: string): Promise<Readable>;
  };
  users: {
    list(): Promise<User[]>;
    create(input: { name: string; role: Role }): Promise<User>;
    update(user: string, patch: { role?: Role; disabled?: true }): Promise<User>;
  };
  tokens: {
    list(user?: string): Promise<Token[]>;
    create(input: { user: string; name: string; expiresInDays?: number }): Promise<CreatedToken>;
    revoke(id: string): Promise<Token>;
    /** Revokes a token and mints its replacement (the way to keep one minted while auth was off). */
    reissue(id: string): Promise<CreatedToken>;
  };
  data: DataApi;
  dataQuality: DataQualityApi;
  lineage: LineageApi;
  models: ModelsApi;
  webhooks: WebhooksApi;
  budgets: BudgetsApi;
  reaper: ReaperApi;
  alerts: AlertsApi;
  jobs: JobsApi;
  pipelines: PipelinesApi;
  cost: CostApi;
  serving: ServingApi;
  triggers: TriggersApi;
  monitoring: MonitoringApi;
  compliance: ComplianceApi;
  audit: {
    list(q?: { entityType?: string; entityId?: string; limit?: number }): Promise<AuditEntry[]>;
    /** Verifies the chain; `deep` also checks the governed tables against their last audit entries. */
    verify(checkpoint?: Checkpoint, options?: { deep?: boolean }): Promise<AuditVerifyResult>;
    checkpoint(): Promise<Checkpoint | null>;
  };
}
