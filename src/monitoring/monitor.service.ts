import { toIso } from '../core/clock.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { digestOf } from '../core/hashing.js';
import { newId } from '../core/ids.js';
import type { Deployment } from '../serving/index.js';
import { inTransaction } from '../store/index.js';
import type { MonitorReferenceTable, MonitorTable } from '../store/schema-monitoring.js';
import { PERFORMANCE_METRICS } from './measure-performance.js';
import * as repo from './monitor.repo.js';
import type { Monitor, MonitorReference } from './monitor.schema.js';
import { parseMonitorSpec } from './monitor-spec.js';
import type { MonitorSpec } from './monitor-spec.schema.js';
import type { MonitoringDeps } from './monitoring-deps.js';
import { resolveReference } from './reference.service.js';

/*
 * Monitors: created from monitor.yaml on a deployment, versioned by the digest of their parsed spec
 * (applying the same name with another spec makes the next version; the same spec changes nothing),
 * removed softly (runs and points stay). Every change is audited in its transaction.
 */

export function toMonitor(row: MonitorTable, deployment: string): Monitor {
  return {
    id: row.id,
    deploymentId: row.deployment_id,
    deployment,
    name: row.name,
    specYaml: row.spec_yaml,
    spec: JSON.parse(row.spec) as Record<string, unknown>,
    specDigest: row.spec_digest,
    version: Number(row.version),
    createdBy: row.created_by,
    createdAt: toIso(Number(row.created_at)),
    updatedAt: toIso(Number(row.updated_at)),
    deletedAt: row.deleted_at === null ? null : toIso(Number(row.deleted_at)),
  };
}

export function toReference(row: MonitorReferenceTable): MonitorReference {
  return {
    id: row.id,
    monitorVersion: Number(row.monitor_version),
    modelVersionId: row.model_version_id,
    source: row.source as MonitorReference['source'],
    sourceRef: row.source_ref,
    rowCount: Number(row.row_count),
    columns: (JSON.parse(row.profiles) as { name: string }[]).map((c) => c.name),
    createdAt: toIso(Number(row.created_at)),
  };
}

/** The parsed spec a monitor row stores. */
export function specOf(row: MonitorTable): MonitorSpec {
  return JSON.parse(row.spec) as MonitorSpec;
}

/** The version a deployment serves now (`<model>@<ref>`). */
export async function championOf(deps: Pick<MonitoringDeps, 'versions'>, d: Deployment) {
  return deps.versions.resolve(`${d.model}@${d.ref}`);
}

export function createMonitorService(deps: MonitoringDeps) {
  const { db, audit, clock } = deps;

  async function deploymentName(id: string): Promise<string> {
    return (await deps.deployments.get(id)).name;
  }

  async function getRow(id: string): Promise<MonitorTable> {
    const row = await repo.findMonitor({ tx: db, id });
    if (!row) throw new NotFoundError('monitor', id);
    return row;
  }

  /** Checks what the schema cannot: metric names, and that the reference resolves for the champion. */
  async function check(spec: MonitorSpec, d: Deployment): Promise<void> {
    for (const [i, m] of (spec.performance ?? []).entries())
      if (!PERFORMANCE_METRICS.includes(m))
        throw new ValidationError(
          `spec.performance[${i}]: unknown metric '${m}'; one of ${PERFORMANCE_METRICS.join(', ')}`,
          { field: `spec.performance[${i}]` },
        );
    if (spec.reference.source === 'traffic') return;
    const champion = await championOf(deps, d);
    const ref = await resolveReference(deps, {
      spec,
      version: champion,
      deploymentId: d.id,
      windowMs: undefined,
      shadow: false,
    });
    const names = new Set(ref.profiles.map((p) => p.name));
    const absent = (spec.features ?? []).filter((f) => !names.has(f));
    if (absent.length > 0)
      throw new ValidationError(
        `spec.features: ${absent.map((f) => `'${f}'`).join(', ')} absent from the reference ${ref.sourceRef}`,
        { field: 'spec.features', absent },
      );
  }

  return {
    /**
     * Creates a monitor, or the next version of the live one of that name when its spec changed
     * (the same spec again changes nothing). `reference` (`<dataset>@<v>`) overrides the spec's.
     */
    async create(input: { actor: string; deployment: string; spec: string; reference?: string | undefined }) {
      const d = await deps.deployments.get(input.deployment);
      if (d.deletedAt) throw new NotFoundError('deployment', input.deployment);
      const parsed = parseMonitorSpec(input.spec);
      const spec: MonitorSpec = input.reference
        ? { ...parsed, reference: { source: 'dataset', dataset: input.reference } }
        : parsed;
      await check(spec, d);
      const digest = digestOf(spec);
      const now = clock.now();
      const row = await inTransaction(db, async (tx) => {
        const live = await repo.findLiveByName({ tx, deploymentId: d.id, name: spec.name });
        if (live && live.spec_digest === digest) return live;
        const next: MonitorTable = {
          id: live?.id ?? newId('mon', now),
          deployment_id: d.id,
          name: spec.name,
          spec_yaml: input.spec,
          spec: JSON.stringify(spec),
          spec_digest: digest,
          version: live ? Number(live.version) + 1 : 1,
          created_by: live?.created_by ?? input.actor,
          created_at: live ? Number(live.created_at) : now,
          updated_at: now,
          deleted_at: null,
        };
        if (live) await repo.updateSpec({ tx, row: next });
        else await repo.insertMonitor({ tx, row: next });
        await audit.append(tx, {
          actor: input.actor,
          action: live ? 'monitor.updated' : 'monitor.created',
          entityType: 'monitor',
          entityId: next.id,
          details: { deployment: d.name, name: spec.name, version: next.version, specDigest: digest },
        });
        return next;
      });
      return toMonitor(row, d.name);
    },
    /** Live monitors, of one deployment when given. */
    async list(q: { deployment?: string | undefined } = {}): Promise<Monitor[]> {
      const d = q.deployment ? await deps.deployments.get(q.deployment) : undefined;
      const rows = await repo.listLive({ tx: db, deploymentId: d?.id });
      const names = new Map<string, string>();
      const out: Monitor[] = [];
      for (const r of rows) {
        let name = names.get(r.deployment_id);
        if (name === undefined) {
          name = await deploymentName(r.deployment_id);
          names.set(r.deployment_id, name);
        }
        out.push(toMonitor(r, name));
      }
      return out;
    },
    /** A monitor by id (deleted ones too: deletedAt says); NotFoundError otherwise. */
    async get(id: string): Promise<Monitor> {
      const row = await getRow(id);
      return toMonitor(row, await deploymentName(row.deployment_id));
    },
    getRow,
    /** The references the monitor has resolved, one per (monitor version, model version). */
    async references(id: string): Promise<MonitorReference[]> {
      await getRow(id);
      return (await repo.listReferences({ tx: db, monitorId: id })).map(toReference);
    },
    /** Removes a monitor (soft: its runs and points stay readable); removing it twice is a no-op. */
    async remove(input: { actor: string; id: string }): Promise<void> {
      const row = await getRow(input.id);
      if (row.deleted_at !== null) return;
      await inTransaction(db, async (tx) => {
        await repo.markDeleted({ tx, id: row.id, at: clock.now() });
        await audit.append(tx, {
          actor: input.actor,
          action: 'monitor.deleted',
          entityType: 'monitor',
          entityId: row.id,
          details: { name: row.name, deploymentId: row.deployment_id },
        });
      });
    },
  };
}

export type MonitorService = ReturnType<typeof createMonitorService>;
