import { z } from 'zod';
import { ValidationError } from '../../../core/errors.js';
import type { LoggedModel, LoggedModelStatus } from '../../../tracking/index.js';
import { matches } from './registry-wire.js';
import { toKeyValues } from './wire.js';

/*
 * MLflow 3's logged-model shapes (service.proto: LoggedModel, LoggedModelInfo, LoggedModelStatus) and
 * the subset of its logged-model search filter Sextant reads.
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

/** A logged model in MLflow's field names; `registrations` are the registry versions made from it. */
export function mlflowLoggedModel(m: LoggedModel, registrations: { name: string; version: number }[] = []) {
  return {
    info: {
      model_id: m.id,
      experiment_id: m.experimentId,
      name: m.name,
      creation_timestamp_ms: Date.parse(m.createdAt),
      last_updated_timestamp_ms: Date.parse(m.updatedAt),
      // A model logged outside a run has no folder here: the proxy refuses uploads there (see artifacts.ts).
      artifact_uri: m.artifactUri ?? `mlflow-artifacts:/${m.experimentId}/models/${m.id}/artifacts`,
      status: STATUS_WIRE[m.status],
      ...(m.modelType ? { model_type: m.modelType } : {}),
      ...(m.sourceRunId ? { source_run_id: m.sourceRunId } : {}),
      ...(m.statusMessage ? { status_message: m.statusMessage } : {}),
      tags: toKeyValues(m.tags),
      registrations: registrations.map((r) => ({ name: r.name, version: String(r.version) })),
    },
    data: { params: toKeyValues(m.params), metrics: [] as never[] },
  };
}

/** The logged model a registry source names: `models:/<model id>` (MLflow 3's register_model). */
export function loggedModelIdOfSource(source: string): string | undefined {
  return /^models:\/(m-[0-9a-z]+)\/?$/.exec(source)?.[1];
}

/** The logged model whose folder a proxied artifact URI points into (`.../artifacts/models/<id>[/...]`). */
export function loggedModelIdInArtifactUri(source: string): string | undefined {
  return /^mlflow-artifacts:.*\/artifacts\/models\/(m-[0-9a-z]+)(?:\/|$)/.exec(source)?.[1];
}

type Clause = { field: string; op: string; value: string };
const ATTRIBUTES = ['name', 'model_id', 'model_type', 'status', 'source_run_id'] as const;

/**
 * `name = 'x'`, `tags.k LIKE 'v%'`, `params.alpha = '0.1'`, `status = 'LOGGED_MODEL_READY'` ... joined by
 * AND; string comparisons only (=, !=, LIKE, ILIKE). Metric clauses are refused by name: Sextant does
 * not link metrics to logged models.
 */
export function parseLoggedModelFilter(filter: string | undefined): Clause[] {
  if (!filter?.trim()) return [];
  return filter.split(/\s+and\s+/i).map((raw) => {
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
        `filter: cannot read '${raw.trim()}' (supported: ${ATTRIBUTES.join(', ')}, tags.<key>, params.<key> with =, !=, LIKE or ILIKE)`,
        { field: 'filter' },
      );
    }
    return { field, op: m[2]!.toUpperCase(), value: m[4]! };
  });
}

/** True when the model satisfies every clause. */
export function matchesLoggedModel(m: LoggedModel, clauses: Clause[]): boolean {
  return clauses.every((c) => {
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

/** Sorts by MLflow's order_by entries ({field_name, ascending}); newest first when none is given. */
export function orderLoggedModels(
  models: LoggedModel[],
  orderBy: { field_name: string; ascending?: boolean | undefined }[] | undefined,
): LoggedModel[] {
  if (!orderBy?.length) return models;
  const keys = orderBy.map((o, i) => {
    const get = ORDER_FIELDS[o.field_name.replace(/^attributes\./, '') as keyof typeof ORDER_FIELDS];
    if (!get) {
      throw new ValidationError(
        `order_by.${i}.field_name: cannot order by '${o.field_name}' (supported: ${Object.keys(ORDER_FIELDS).join(', ')})`,
        { field: `order_by.${i}.field_name` },
      );
    }
    return { get, dir: o.ascending === false ? -1 : 1 };
  });
  return [...models].sort((a, b) => {
    for (const k of keys) {
      const x = k.get(a);
      const y = k.get(b);
      if (x !== y) return (x < y ? -1 : 1) * k.dir;
    }
    return a.id < b.id ? 1 : -1;
  });
}
