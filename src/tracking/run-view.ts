import type { Selectable } from 'kysely';
import { toIso } from '../core/clock.js';
import type { Executor, RunInputTable, RunTable } from '../store/index.js';
import * as data from './run-data.repo.js';
import { listRunDataJson, type RunDataJson } from './run-data-json.repo.js';
import type { Metric, Run, RunInput } from './tracking.schema.js';

/** A stored metric value in its JSON form: NaN and ±Infinity become MLflow's strings. */
export function metricValueOut(value: number | null, isNan: number): Metric['value'] {
  if (isNan || value === null) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  return value;
}

function groupBy<T extends { run_id: string }>(rows: T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const list = out.get(r.run_id);
    if (list) list.push(r);
    else out.set(r.run_id, [r]);
  }
  return out;
}

/** A run without its params, metrics and tags: what goes beside their JSON text (RunDataJson). */
export type RunSummary = Omit<Run, 'params' | 'metrics' | 'tags'>;

function runInputOf(i: Selectable<RunInputTable>): RunInput {
  return {
    id: i.id,
    direction: i.direction as RunInput['direction'],
    kind: i.kind,
    name: i.name,
    digest: i.digest,
    source: i.source,
    sourceType: i.source_type,
    schema: i.schema,
    profile: i.profile,
    tags: i.tags ? (JSON.parse(i.tags) as Record<string, string>) : {},
    datasetVersionId: i.dataset_version_id,
  };
}

function summaryOf(r: Selectable<RunTable>, inputs: Selectable<RunInputTable>[] | undefined): RunSummary {
  return {
    id: r.id,
    experimentId: String(r.experiment_id),
    name: r.name,
    status: r.status as Run['status'],
    lifecycleStage: r.lifecycle_stage as Run['lifecycleStage'],
    userId: r.user_id,
    startTime: toIso(r.start_time),
    endTime: r.end_time === null ? null : toIso(r.end_time),
    artifactUri: r.artifact_uri,
    gitCommit: r.git_commit,
    gitDirty: r.git_dirty === null ? null : r.git_dirty === 1,
    command: r.command,
    inputs: (inputs ?? []).map(runInputOf),
  };
}

/** Loads params, latest metrics, tags and inputs of many runs in four queries, keeping the given order. */
export async function toRuns(tx: Executor, rows: Selectable<RunTable>[]): Promise<Run[]> {
  const ids = rows.map((r) => r.id);
  const [params, metrics, tags, inputs] = await Promise.all([
    data.listParams({ tx, runIds: ids }).then(groupBy),
    data.listLatestMetrics({ tx, runIds: ids }).then(groupBy),
    data.listTags({ tx, runIds: ids }).then(groupBy),
    data.listInputs({ tx, runIds: ids }).then(groupBy),
  ]);
  return rows.map((r) => {
    const { inputs: runInputs, ...summary } = summaryOf(r, inputs.get(r.id));
    // The native API's field order: the run's own fields, then params, metrics, tags and inputs.
    return {
      ...summary,
      params: Object.fromEntries((params.get(r.id) ?? []).map((p) => [p.key, p.value])),
      metrics: (metrics.get(r.id) ?? []).map((m) => ({
        key: m.key,
        value: metricValueOut(m.value, m.is_nan),
        timestamp: m.timestamp,
        step: m.step,
      })),
      tags: Object.fromEntries((tags.get(r.id) ?? []).map((t) => [t.key, t.value])),
      inputs: runInputs,
    };
  });
}

/**
 * Runs with their params, latest metrics and tags as JSON text (run-data-json.repo.ts), in the given
 * order: for replies that carry whole runs by the thousand, where per-value objects cost the most.
 */
export async function toRunsWithDataJson(
  tx: Executor,
  rows: Selectable<RunTable>[],
): Promise<{ run: RunSummary; data: RunDataJson }[]> {
  const ids = rows.map((r) => r.id);
  const [dataJson, inputs] = await Promise.all([
    listRunDataJson({ tx, runIds: ids }),
    data.listInputs({ tx, runIds: ids }).then(groupBy),
  ]);
  return rows.map((r) => ({
    run: summaryOf(r, inputs.get(r.id)),
    data: dataJson.get(r.id) ?? { params: '[]', metrics: '[]', tags: '[]' },
  }));
}
