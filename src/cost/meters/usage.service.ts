import type { AuditLog } from '../../audit/index.js';
import { type Clock, toIso } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { parseOrThrow } from '../../core/validate.js';
import { type Db, inTransaction } from '../../store/index.js';
import * as repo from './usage.repo.js';
import {
  type RecordUsageInput,
  recordUsageInputSchema,
  type UsageRecord,
  usageRecordSchema,
} from './usage.schema.js';

export interface UsageDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
}

/**
 * A usage record as stored. Intervals are never negative: clocks of different machines disagree, so an
 * end before its start is clamped to the start and the record says so (the work is not dropped).
 */
export function usageRow(input: RecordUsageInput, actor: string, now: number): repo.UsageRow {
  const notes = [...(input.notes ?? [])];
  let endedAt = input.endedAt;
  if (endedAt < input.startedAt) {
    notes.push(`clock skew: ended ${input.startedAt - endedAt} ms before it started; clamped to 0 s`);
    endedAt = input.startedAt;
  }
  const devices = input.gpuDevices ?? [];
  const gpuSeconds = devices.length ? devices.reduce((s, d) => s + d.seconds, 0) : null;
  return {
    id: newId('use', now),
    kind: input.kind,
    run_id: input.runId ?? null,
    job_id: input.jobId ?? null,
    deployment_id: input.deploymentId ?? null,
    model_version_id: input.modelVersionId ?? null,
    host: input.host ?? null,
    started_at: input.startedAt,
    ended_at: endedAt,
    wall_seconds: (endedAt - input.startedAt) / 1000,
    cpu_seconds: input.cpuSeconds ?? null,
    peak_memory_bytes: input.peakMemoryBytes ?? null,
    requested_cpus: input.requestedCpus ?? null,
    requested_memory_bytes: input.requestedMemoryBytes ?? null,
    gpu_model: input.gpuModel ?? devices[0]?.name ?? null,
    gpu_seconds: gpuSeconds,
    gpu_devices: devices.length ? JSON.stringify(devices) : null,
    instance_type: input.instanceType ?? null,
    instance_seconds: input.instanceSeconds ?? null,
    predictions: input.predictions ?? null,
    dataset_version_id: input.datasetVersionId ?? null,
    storage_bytes: input.storageBytes ?? null,
    notes: notes.length ? JSON.stringify(notes) : null,
    recorded_at: now,
    recorded_by: actor,
  };
}

/** A stored row as the API shows it. */
export function toUsageRecord(r: repo.UsageRow): UsageRecord {
  return usageRecordSchema.parse({
    id: r.id,
    kind: r.kind,
    runId: r.run_id,
    jobId: r.job_id,
    deploymentId: r.deployment_id,
    modelVersionId: r.model_version_id,
    host: r.host,
    startedAt: toIso(r.started_at),
    endedAt: toIso(r.ended_at),
    wallSeconds: r.wall_seconds,
    cpuSeconds: r.cpu_seconds,
    peakMemoryBytes: r.peak_memory_bytes,
    gpuModel: r.gpu_model,
    gpuSeconds: r.gpu_seconds,
    gpuDevices: r.gpu_devices ? JSON.parse(r.gpu_devices) : [],
    instanceType: r.instance_type,
    instanceSeconds: r.instance_seconds,
    predictions: r.predictions === null ? null : Number(r.predictions),
    datasetVersionId: r.dataset_version_id,
    storageBytes: r.storage_bytes === null ? null : Number(r.storage_bytes),
    notes: r.notes ? JSON.parse(r.notes) : [],
  });
}

/** Records what the meters measured; one audit entry per call, in the same transaction. */
export function createUsageService({ db, audit, clock }: UsageDeps) {
  return {
    async record(input: { actor: string } & RecordUsageInput): Promise<UsageRecord[]> {
      const { actor, ...rest } = input;
      return this.recordMany({ actor, records: [rest] });
    },
    async recordMany({ actor, records }: { actor: string; records: unknown[] }): Promise<UsageRecord[]> {
      const now = clock.now();
      const rows = records.map((r, i) =>
        usageRow(parseOrThrow(recordUsageInputSchema, r, `records.${i}`), actor, now),
      );
      if (rows.length === 0) return [];
      await inTransaction(db, async (tx) => {
        await repo.insertUsage({ tx, rows });
        await audit.append(tx, {
          actor,
          action: 'cost.usage.record',
          entityType: rows.length === 1 && rows[0]!.run_id ? 'run' : 'cost_usage',
          entityId: rows.length === 1 ? (rows[0]!.run_id ?? rows[0]!.id) : rows[0]!.id,
          details: { records: rows.length, kinds: [...new Set(rows.map((r) => r.kind))] },
        });
      });
      return rows.map(toUsageRecord);
    },
    /** The usage recorded for a run (its own process; child runs have their own). */
    async ofRun(runId: string): Promise<UsageRecord[]> {
      return (await repo.listUsageOfRun({ tx: db, runId })).map(toUsageRecord);
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
