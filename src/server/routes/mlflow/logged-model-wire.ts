import { z } from 'zod';
import { ValidationError } from '../../../core/errors.js';
import type { LoggedModel, LoggedModelMetric, LoggedModelStatus } from '../../../tracking/index.js';
import { matches } from './registry-wire.js';
import { toKeyValues } from './wire.js';

/*
 * MLflow 3's logged-model shapes (service.proto: LoggedModel, LoggedModelInfo, LoggedModelStatus, Metric)
 * and the subset of its logged-model search filter and order_by Sextant reads.
 */

const STATUS_WIRE = {
  PENDING: 'LOGGED_MODEL_PENDING',
  READY: 'LOGGED_MODEL_READY',
  FAILED: 'LOGGED_MODEL_UPLOAD_FAILED',
} as const satisfies Record<LoggedModelStatus, string>;

/**
 * The status finalize accepts, by name or by its protobuf number (protobuf JSON allows both):
 * READY (2) or UPLOAD_FAILED (3). Anything else is INVALID_PARAMETER_VALUE naming `status`.
 */
export const finalizeStatusSchema = z
  .union([z.string(), z.number()])
  .transform((v, ctx): Exclude<LoggedModelStatus, 'PENDING'> => {
    if (v === 'LOGGED_MODEL_READY' || v === 2) return 'READY';
    if (v === 'LOGGED_MODEL_UPLOAD_FAILED' || v === 3) return 'FAILED';
    ctx.addIssue({
      code: 'custom',
      message: `'${String(v)}' is not a final status; use LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED`,
    });
    return z.NEVER;
  });

/** A model-linked metric value in MLflow 3's Metric fields (dataset fields only when named). */
export function mlflowModelMetric(modelId: string, m: LoggedModelMetric) {
  return {
    key: m.key,
    value: m.value,
    timestamp: m.timestamp,
    step: m.step,
    ...(m.datasetName ? { dataset_name: m.datasetName } : {}),
    ...(m.datasetDigest ? { dataset_digest: m.datasetDigest } : {}),
    model_id: modelId,
    run_id: m.runId,
  };
}

/** A logged model in MLflow's field names; `registrations` are the registry versions made from it. */
export function mlflowLoggedModel(m: LoggedModel, registrations: { name: string; version: number }[] = []) {
  return {
    info: {
      model_id: m.id,
      experiment_id: m.experimentId,
      name: m.name,
      creation_timestamp_ms: Date.parse(m.createdAt),
      last_updated_timestamp_ms: Date.parse(m.updatedAt),
      artifact_uri: m.artifactUri,
      status: STATUS_WIRE[m.status],
      ...(m.modelType ? { model_type: m.modelType } : {}),
      ...(m.sourceRunId ? { source_run_id: m.sourceRunId } : {}),
      ...(m.statusMessage ? { status_message: m.statusMessage } : {}),
      tags: toKeyValues(m.tags),
      registrations: registrations.map((r) => ({ name: r.name, version: String(r.version) })),
    },
    data: { params: toKeyValues(m.params), metrics: m.metrics.map((x) => mlflowModelMetric(m.id, x)) },
  };
}

/** The logged model a registry source names: `models:/<model id>` (MLflow 3's register_model). */
export function loggedModelIdOfSource(source: string): string | undefined {
  return /^models:\/(m-[0-9a-z]+)\/?$/.exec(source)?.[1];
}

/**
 * The logged model a proxied artifact URI points into: its folder in a run (`.../artifacts/models/<id>[/...]`)
 * or, for a model without a run, its own root (`.../models/<id>/artifacts`).
 */
export function loggedModelIdInArtifactUri(source: string): string | undefined {
  const m =
    /^mlflow-artifacts:.*\/artifacts\/models\/(m-[0-9a-z]+)(?:\/|$)/.exec(source) ??
    /^mlflow-artifacts:.*\/models\/(m-[0-9a-z]+)\/artifacts\/?$/.exec(source);
  return m?.[1];
}

type StringClause = { kind: 'string'; field: string; op: string; value: string };
type MetricClause = { kind: 'metric'; key: string; op: string; value: number };
type Clause = StringClause | MetricClause;
const ATTRIBUTES = ['name', 'model_id', 'model_type', 'status', 'source_run_id'] as const;
const unquote = (key: string) => key.replace(/^[`"]|[`"]$/g, '');

/** SearchLoggedModels.datasets: metrics measured on one of these count (none given: all metrics count). */
export type DatasetScope = { dataset_name: string; dataset_digest?: string | undefined }[];

/**
 * `name = 'x'`, `tags.k LIKE 'v%'`, `params.alpha = '0.1'`, `status = 'LOGGED_MODEL_READY'` (=, !=, LIKE,
 * ILIKE) and `metrics.acc > 0.5` (=, !=, <, <=, >, >=) joined by AND.
 */
export function parseLoggedModelFilter(filter: string | undefined): Clause[] {
  if (!filter?.trim()) return [];
  return filter.split(/\s+and\s+/i).map((raw): Clause => {
    const metric =
      /^\s*metrics\.(`[^`]+`|"[^"]+"|[\w.-]+)\s*(<=|>=|!=|=|<|>)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/i.exec(
        raw,
      );
    if (metric) return { kind: 'metric', key: unquote(metric[1]!), op: metric[2]!, value: Number(metric[3]) };
    const m =
      /^\s*((?:tags|params)\.(?:`[^`]+`|"[^"]+"|[\w.-]+)|(?:attributes\.)?[a-z_]+)\s*(=|!=|LIKE|ILIKE)\s*(['"])(.*)\3\s*$/i.exec(
        raw,
      );
    const field = m?.[1]?.replace(/^attributes\./i, '').replace(/[`"]/g, '');
    const known =
      field &&
      (/^(tags|params)\./.test(field) || (ATTRIBUTES as readonly string[]).includes(field.toLowerCase()));
    if (!m || !field || !known) {
      throw new ValidationError(
        `filter: cannot read '${raw.trim()}' (supported: ${ATTRIBUTES.join(', ')}, tags.<key>, params.<key> with =, !=, LIKE or ILIKE; metrics.<key> with =, !=, <, <=, >, >= and a number)`,
        { field: 'filter' },
      );
    }
    return { kind: 'string', field, op: m[2]!.toUpperCase(), value: m[4]! };
  });
}

/**
 * The value a search compares for a metric: the latest (by timestamp, then step) value of the key among
 * the model's values measured on the datasets in scope (an empty scope: all its values). NaN for NaN.
 */
export function metricOf(m: LoggedModel, key: string, scope: DatasetScope | undefined): number | undefined {
  let best: LoggedModel['metrics'][number] | undefined;
  for (const x of m.metrics) {
    if (x.key !== key) continue;
    const inScope =
      !scope?.length ||
      scope.some(
        (d) =>
          d.dataset_name === x.datasetName && (!d.dataset_digest || d.dataset_digest === x.datasetDigest),
      );
    if (!inScope) continue;
    if (!best || x.timestamp > best.timestamp || (x.timestamp === best.timestamp && x.step > best.step))
      best = x;
  }
  return best === undefined ? undefined : Number(best.value);
}

/** The latest finite value of each of the model's metrics (what a registered version records). */
export function latestMetrics(m: LoggedModel): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of new Set(m.metrics.map((x) => x.key))) {
    const value = metricOf(m, key, undefined);
    if (value !== undefined && Number.isFinite(value)) out[key] = value;
  }
  return out;
}

function compare(value: number, op: string, to: number): boolean {
  switch (op) {
    case '=':
      return value === to;
    case '!=':
      return value !== to;
    case '<':
      return value < to;
    case '<=':
      return value <= to;
    case '>':
      return value > to;
    default:
      return value >= to;
  }
}

/** True when the model satisfies every clause (a model without the metric fails a metric clause). */
export function matchesLoggedModel(m: LoggedModel, clauses: Clause[], scope?: DatasetScope): boolean {
  return clauses.every((c) => {
    if (c.kind === 'metric') {
      const value = metricOf(m, c.key, scope);
      return value !== undefined && compare(value, c.op, c.value);
    }
    const value = c.field.startsWith('tags.')
      ? m.tags[c.field.slice(5)]
      : c.field.startsWith('params.')
        ? m.params[c.field.slice(7)]
        : {
            name: m.name,
            model_id: m.id,
            model_type: m.modelType ?? '',
            status: STATUS_WIRE[m.status],
            source_run_id: m.sourceRunId ?? '',
          }[c.field.toLowerCase()];
    return value !== undefined && matches(value, c);
  });
}

const ORDER_FIELDS = {
  name: (m: LoggedModel) => m.name,
  creation_timestamp: (m: LoggedModel) => m.createdAt,
  creation_time: (m: LoggedModel) => m.createdAt,
  last_updated_timestamp: (m: LoggedModel) => m.updatedAt,
} as const;

type OrderBy = {
  field_name: string;
  ascending?: boolean | undefined;
  dataset_name?: string | undefined;
  dataset_digest?: string | undefined;
};

/**
 * Sorts by MLflow's order_by entries ({field_name, ascending, dataset_name?, dataset_digest?}); newest
 * first when none is given. `metrics.<key>` orders by metricOf, scoped to the entry's dataset when it
 * names one; models without the metric (or whose value is NaN) come last in either direction, as MLflow
 * puts NULLs.
 */
export function orderLoggedModels(models: LoggedModel[], orderBy: OrderBy[] | undefined): LoggedModel[] {
  if (!orderBy?.length) return models;
  const keys = orderBy.map((o, i) => {
    const dir = o.ascending === false ? -1 : 1;
    if (o.field_name.startsWith('metrics.')) {
      const key = unquote(o.field_name.slice('metrics.'.length));
      const scope = o.dataset_name
        ? [{ dataset_name: o.dataset_name, dataset_digest: o.dataset_digest }]
        : [];
      // NaN has no place among numbers: it sorts with the models that lack the metric, last.
      const get = (m: LoggedModel) => {
        const v = metricOf(m, key, scope);
        return v === undefined || Number.isNaN(v) ? undefined : v;
      };
      return { get, dir };
    }
    if (o.dataset_name || o.dataset_digest) {
      throw new ValidationError(
        `order_by.${i}.dataset_name: only a metrics.<key> field may name a dataset, not '${o.field_name}'`,
        { field: `order_by.${i}.dataset_name` },
      );
    }
    const get = ORDER_FIELDS[o.field_name.replace(/^attributes\./, '') as keyof typeof ORDER_FIELDS];
    if (!get) {
      throw new ValidationError(
        `order_by.${i}.field_name: cannot order by '${o.field_name}' (supported: ${Object.keys(ORDER_FIELDS).join(', ')}, metrics.<key>)`,
        { field: `order_by.${i}.field_name` },
      );
    }
    return { get, dir };
  });
  return [...models].sort((a, b) => {
    for (const k of keys) {
      const x = k.get(a);
      const y = k.get(b);
      if (x === y) continue;
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      return (x < y ? -1 : 1) * k.dir;
    }
    return a.id < b.id ? 1 : -1;
  });
}
