import { toIso } from '../../core/clock.js';
import type { TriggerFiringTable, TriggerTable } from '../../store/schema-triggers.js';
import type { Firing, FiringStatus, Trigger, TriggerKind, TriggerSpec } from './trigger.schema.js';

/** The stored spec of a trigger row (written by create, which validated it). */
export function specOf(row: TriggerTable): TriggerSpec {
  return JSON.parse(row.spec) as TriggerSpec;
}

export function toTrigger(row: TriggerTable): Trigger {
  const spec = specOf(row);
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as TriggerKind,
    pipeline: row.pipeline,
    ...(spec.description ? { description: spec.description } : {}),
    on: spec.on,
    params: spec.params,
    concurrency: spec.concurrency,
    ...(row.cursor !== null ? { cursor: row.cursor } : {}),
    createdAt: toIso(row.created_at),
    createdBy: row.created_by,
  };
}

export function toFiring(row: TriggerFiringTable): Firing {
  return {
    id: row.id,
    triggerId: row.trigger_id,
    key: row.key,
    status: row.status as FiringStatus,
    ...(row.run_id ? { runId: row.run_id } : {}),
    params: JSON.parse(row.params) as Record<string, unknown>,
    ...(row.error ? { error: row.error } : {}),
    actor: row.actor,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}
