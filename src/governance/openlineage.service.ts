import type { DatasetVersion } from '../data/dataset.schema.js';
import { createRunService, type RunInput } from '../tracking/index.js';
import type { GovernanceDeps } from './governance-deps.js';
import * as repo from './lineage.repo.js';
import type { OpenLineageExport } from './openlineage.schema.js';
import { buildRunEvents, type ExportDataset } from './openlineage-event.js';

/** Namespace of Sextant's own datasets and jobs unless the caller names another (e.g. the server's URL). */
export const DEFAULT_OPENLINEAGE_NAMESPACE = 'sextant';

const sqlType: Record<string, string> = {
  integer: 'BIGINT',
  float: 'DOUBLE',
  string: 'VARCHAR',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
};

/** Schema facet fields of a version: its table's columns; with several tables, `path:column`. */
function fieldsOf(v: DatasetVersion): ExportDataset['fields'] {
  if (v.tables.length === 0) return undefined;
  const many = v.tables.length > 1;
  return v.tables.flatMap((t) =>
    t.schema.columns.map((c) => ({
      name: many ? `${t.path}:${c.name}` : c.name,
      type: sqlType[c.type] ?? c.type.toUpperCase(),
      ...(c.nullable ? {} : { description: 'not null' }),
    })),
  );
}

function fromVersion(v: DatasetVersion, namespace: string): ExportDataset {
  const fields = fieldsOf(v);
  return {
    namespace,
    name: v.dataset,
    version: v.digest,
    ...(v.source ? { source: v.source } : {}),
    ...(fields ? { fields } : {}),
  };
}

/** MLflow's `{"mlflow_colspec": [{"name", "type"}]}` dataset schema, when that is what was logged. */
function mlflowFields(schema: string | null): ExportDataset['fields'] {
  if (!schema) return undefined;
  try {
    const cols = (JSON.parse(schema) as { mlflow_colspec?: unknown }).mlflow_colspec;
    if (!Array.isArray(cols)) return undefined;
    return cols
      .filter((c): c is { name: string; type?: unknown } => typeof c?.name === 'string')
      .map((c) => ({ name: c.name, type: typeof c.type === 'string' ? c.type.toUpperCase() : 'UNKNOWN' }));
  } catch {
    return undefined;
  }
}

/** A logged input that names no Sextant version (an MLflow dataset): namespaced by where it lives. */
function fromUnlinked(i: RunInput): ExportDataset {
  let namespace = i.sourceType ? `mlflow.${i.sourceType}` : 'mlflow';
  try {
    if (i.source && /^[a-z][a-z0-9+.-]*:\/\//i.test(i.source)) {
      const u = new URL(i.source);
      namespace = `${u.protocol}//${u.host}`;
    }
  } catch {
    // keep the mlflow namespace
  }
  const fields = mlflowFields(i.schema);
  return {
    namespace,
    name: i.name,
    version: i.digest,
    ...(i.source ? { source: i.source } : {}),
    ...(fields ? { fields } : {}),
  };
}

/** Exports runs as OpenLineage RunEvents with their input and output datasets. */
export function createOpenLineageExporter(deps: GovernanceDeps) {
  const runs = createRunService(deps);

  async function exportRun(input: { runId: string; namespace?: string }): Promise<OpenLineageExport> {
    const namespace = input.namespace ?? DEFAULT_OPENLINEAGE_NAMESPACE;
    const run = await runs.get(input.runId);
    const [row] = await repo.findRuns({ tx: deps.db, ids: [run.id] });
    const produced = await repo.findVersionsProducedBy({ tx: deps.db, runIds: [run.id] });

    const versionCache = new Map<string, Promise<DatasetVersion>>();
    const version = (id: string) => {
      const cached = versionCache.get(id);
      if (cached) return cached;
      const v = deps.datasetVersions.get(id);
      versionCache.set(id, v);
      return v;
    };
    async function side(direction: 'input' | 'output', extraVersionIds: string[]) {
      const seen = new Set<string>();
      const out: ExportDataset[] = [];
      for (const i of run.inputs.filter((x) => x.direction === direction)) {
        if (i.datasetVersionId) {
          if (seen.has(i.datasetVersionId)) continue;
          seen.add(i.datasetVersionId);
          out.push(fromVersion(await version(i.datasetVersionId), namespace));
        } else out.push(fromUnlinked(i));
      }
      for (const id of extraVersionIds) {
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(fromVersion(await version(id), namespace));
      }
      return out;
    }

    const events = buildRunEvents({
      run: {
        id: run.id,
        name: run.name,
        status: run.status,
        experimentId: run.experimentId,
        experiment: row?.experiment ?? run.experimentId,
        startTime: run.startTime,
        endTime: run.endTime,
      },
      inputs: await side('input', []),
      outputs: await side(
        'output',
        produced.map((p) => p.id),
      ),
      jobNamespace: namespace,
    });
    return { runId: run.id, events };
  }

  return { exportRun };
}

export type OpenLineageExporter = ReturnType<typeof createOpenLineageExporter>;
