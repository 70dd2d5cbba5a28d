import { ValidationError } from '../../../core/errors.js';
import type { ModelVersion, RegisteredModel } from '../../../registry/index.js';
import { toKeyValues } from './wire.js';

/*
 * MLflow's registry shapes. MLflow's stages are mapped onto Sextant's aliases:
 * Production <-> champion, Staging <-> challenger, everything else None (Archived is never stored:
 * archiving a version removes the aliases it held).
 */
export const STAGE_ALIAS = { Production: 'champion', Staging: 'challenger' } as const;
export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];

/** A stage name as MLflow's server accepts it: any letter case. */
export function parseStage(raw: string, field = 'stage'): Stage {
  const found = STAGES.find((s) => s.toLowerCase() === raw.trim().toLowerCase());
  if (!found) throw new ValidationError(`${field}: '${raw}' is not one of ${STAGES.join(', ')}`, { field });
  return found;
}

export function stageOf(v: Pick<ModelVersion, 'aliases'>): Stage {
  if (v.aliases.includes(STAGE_ALIAS.Production)) return 'Production';
  if (v.aliases.includes(STAGE_ALIAS.Staging)) return 'Staging';
  return 'None';
}

const ms = (iso: string) => Date.parse(iso);

/**
 * The logged model a version was registered from, if any: its folder `models/<id>` in the source run,
 * or `models:/<id>` for a model logged outside a run.
 */
export function loggedModelIdOfVersionSource(source: string): string | undefined {
  return /^(?:runs:\/[^/]+\/models\/|models:\/)(m-[0-9a-z]+)$/.exec(source)?.[1];
}

export function mlflowModelVersion(v: ModelVersion) {
  // A version registered from a logged model (MLflow 3) names it, as MLflow's ModelVersion.model_id does.
  const loggedModel = loggedModelIdOfVersionSource(v.source);
  return {
    name: v.model,
    version: String(v.version),
    creation_timestamp: ms(v.createdAt),
    last_updated_timestamp: ms(v.updatedAt),
    user_id: v.createdBy,
    current_stage: stageOf(v),
    description: v.description ?? '',
    source: v.source,
    ...(v.runId ? { run_id: v.runId } : {}),
    ...(loggedModel ? { model_id: loggedModel } : {}),
    status: 'READY',
    tags: toKeyValues(v.tags),
    aliases: v.aliases,
  };
}

export function mlflowRegisteredModel(m: RegisteredModel, latest: ModelVersion[]) {
  return {
    name: m.name,
    creation_timestamp: ms(m.createdAt),
    last_updated_timestamp: ms(m.updatedAt),
    user_id: m.createdBy,
    description: m.description ?? '',
    latest_versions: latest.map(mlflowModelVersion),
    tags: toKeyValues(m.tags),
    aliases: m.aliases.map((a) => ({ alias: a.alias, version: String(a.version) })),
  };
}

/** The newest version in each stage (MLflow's latest_versions), optionally only the stages asked for. */
export function latestPerStage(versions: ModelVersion[], stages?: Stage[]): ModelVersion[] {
  const best = new Map<Stage, ModelVersion>();
  for (const v of versions) {
    const stage = stageOf(v);
    const b = best.get(stage);
    if (!b || v.version > b.version) best.set(stage, v);
  }
  return [...best.entries()]
    .filter(([stage]) => !stages?.length || stages.includes(stage))
    .map(([, v]) => v)
    .sort((a, b) => a.version - b.version);
}

/**
 * Where a model version's files are in a run, from MLflow's `source`: `runs:/<run>/<path>`, or the
 * run's artifact URI followed by the path (what mlflow.register_model sends).
 */
export function runPathOf(
  source: string,
  run: { id: string; artifactUri: string } | undefined,
): { runId: string; path: string } {
  const m = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
  if (m) return { runId: m[1]!, path: m[2] || 'model' };
  if (run) {
    const base = run.artifactUri.replace(/\/+$/, '');
    if (source === base)
      throw new ValidationError('source: names the run artifact root; name the model folder inside it', {
        field: 'source',
      });
    if (source.startsWith(`${base}/`)) return { runId: run.id, path: source.slice(base.length + 1) };
  }
  throw new ValidationError(
    `source: '${source}' is neither runs:/<run_id>/<path> nor inside the artifact location of run_id`,
    { field: 'source' },
  );
}

/** `name = 'x'`, `name LIKE '%x%'`, `name ILIKE ...` and `run_id = '...'` clauses joined by AND. */
export function parseRegistryFilter(
  filter: string | undefined,
  allowed: string[],
): Map<string, { op: string; value: string }> {
  const out = new Map<string, { op: string; value: string }>();
  if (!filter?.trim()) return out;
  for (const clause of filter.split(/\s+and\s+/i)) {
    const m = /^\s*([a-z_]+)\s*(=|!=|LIKE|ILIKE)\s*(['"])(.*)\3\s*$/i.exec(clause);
    if (!m || !allowed.includes(m[1]!.toLowerCase())) {
      throw new ValidationError(
        `filter: cannot read '${clause.trim()}' (supported: ${allowed.join(', ')} with =, LIKE or ILIKE)`,
        {
          field: 'filter',
        },
      );
    }
    out.set(m[1]!.toLowerCase(), { op: m[2]!.toUpperCase(), value: m[4]! });
  }
  return out;
}

/** SQL LIKE semantics ('%' any run, '_' one character) on strings; ILIKE ignores case. */
export function matches(value: string, clause: { op: string; value: string }): boolean {
  if (clause.op === '=') return value === clause.value;
  if (clause.op === '!=') return value !== clause.value;
  const pattern = clause.value
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/%/g, '.*')
    .replace(/_/g, '.');
  return new RegExp(`^${pattern}$`, clause.op === 'ILIKE' ? 'is' : 's').test(value);
}
