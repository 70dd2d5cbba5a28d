import { toIso } from '../core/clock.js';
import type { DomainDeps } from '../core/domain-deps.js';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../core/errors.js';
import { type Executor, inTransaction } from '../store/index.js';
import { checkArtifactLocation } from './artifact-location.js';
import { listDatasetSummaries } from './dataset-summary.repo.js';
import type { ExperimentListQuery, ExperimentRow } from './experiment.repo.js';
import * as repo from './experiment.repo.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { setLifecycleOfExperimentRuns } from './run.repo.js';
import { type Experiment, experimentIdSchema, type ViewType } from './tracking.schema.js';

export interface ExperimentPage {
  experiments: Experiment[];
  nextPageToken?: string;
}

export interface SearchExperimentsInput {
  viewType?: ViewType;
  filter?: string;
  orderBy?: string[];
  maxResults?: number;
  pageToken?: string;
}

/** Maps a view type to the lifecycle stages it shows. */
export function stagesOf(viewType: ViewType): string[] {
  switch (viewType) {
    case 'ACTIVE_ONLY':
      return ['active'];
    case 'DELETED_ONLY':
      return ['deleted'];
    case 'ALL':
      return ['active', 'deleted'];
  }
}

function parseExperimentId(id: string): number {
  const r = experimentIdSchema.safeParse(id);
  if (!r.success)
    throw new ValidationError(`experiment_id: '${id}' is not a valid experiment id`, {
      field: 'experiment_id',
    });
  return Number(id);
}

const clauseRe =
  /^\s*(?:(?:attributes?|attr)\.)?(name|tags?\.(?:`[^`]+`|"[^"]+"|[\w.\-/: ]+?))\s*(=|!=|LIKE|ILIKE)\s*(?:'((?:[^']|'')*)'|"([^"]*)")\s*$/i;

/** MLflow's experiment filter: `name` and `tags.<key>` clauses joined by AND. */
function parseExperimentFilter(filter: string | undefined): Pick<ExperimentListQuery, 'name' | 'tag'> {
  const out: Pick<ExperimentListQuery, 'name' | 'tag'> = {};
  if (!filter?.trim()) return out;
  for (const clause of filter.split(/\s+and\s+/i)) {
    const m = clauseRe.exec(clause);
    if (!m) throw new ValidationError(`filter: cannot parse '${clause.trim()}'`, { field: 'filter' });
    const op = m[2]!.toLowerCase() as '=' | '!=' | 'like' | 'ilike';
    const value = m[3] !== undefined ? m[3].replace(/''/g, "'") : (m[4] ?? '');
    const subject = m[1]!;
    if (subject.toLowerCase() === 'name') out.name = { op, value };
    else out.tag = { key: subject.replace(/^tags?\./i, '').replace(/^[`"]|[`"]$/g, ''), op, value };
  }
  return out;
}

const orderColumns: Record<string, ExperimentListQuery['orderBy']['column']> = {
  name: 'name',
  creation_time: 'created_at',
  last_update_time: 'updated_at',
  experiment_id: 'id',
};

function parseExperimentOrderBy(orderBy: string[] | undefined): ExperimentListQuery['orderBy'] {
  const first = orderBy?.[0];
  if (!first) return { column: 'created_at', desc: true };
  const m = /^\s*(?:attributes?\.)?(\w+)(?:\s+(ASC|DESC))?\s*$/i.exec(first);
  const column = m ? orderColumns[m[1]!.toLowerCase()] : undefined;
  if (!m || !column)
    throw new ValidationError(`order_by: cannot order experiments by '${first}'`, { field: 'order_by' });
  return { column, desc: (m[2] ?? 'ASC').toUpperCase() === 'DESC' };
}

/** Experiments: named groups of runs; soft-deleted and restorable, with tags. */
export function createExperimentService({ db, audit, clock }: DomainDeps) {
  async function toExperiments(tx: Executor, rows: ExperimentRow[]): Promise<Experiment[]> {
    const tags = await repo.listExperimentTags({ tx, ids: rows.map((r) => r.id) });
    return rows.map((r) => ({
      id: String(r.id),
      name: r.name,
      artifactLocation: r.artifact_location,
      lifecycleStage: r.lifecycle_stage as Experiment['lifecycleStage'],
      createdAt: toIso(r.created_at),
      updatedAt: toIso(r.updated_at),
      tags: Object.fromEntries(tags.filter((t) => t.experiment_id === r.id).map((t) => [t.key, t.value])),
    }));
  }

  async function getRow(tx: Executor, id: string): Promise<ExperimentRow> {
    const row = await repo.findExperiment({ tx, id: parseExperimentId(id) });
    if (!row) throw new NotFoundError('experiment', id);
    return row;
  }

  async function get(id: string): Promise<Experiment> {
    const [e] = await toExperiments(db, [await getRow(db, id)]);
    return e!;
  }

  async function getByName(name: string): Promise<Experiment> {
    const row = await repo.findExperimentByName({ tx: db, name });
    if (!row) throw new NotFoundError('experiment', name);
    const [e] = await toExperiments(db, [row]);
    return e!;
  }

  async function findByName(name: string): Promise<Experiment | undefined> {
    const row = await repo.findExperimentByName({ tx: db, name });
    return row ? (await toExperiments(db, [row]))[0] : undefined;
  }

  async function create(input: {
    actor: string;
    name: string;
    artifactLocation?: string;
    tags?: Record<string, string>;
  }): Promise<Experiment> {
    if (input.artifactLocation) checkArtifactLocation(input.artifactLocation);
    const now = clock.now();
    const id = await inTransaction(db, async (tx) => {
      if (await repo.findExperimentByName({ tx, name: input.name }))
        throw new AlreadyExistsError('experiment', input.name);
      const id = await repo.insertExperiment({
        tx,
        values: {
          name: input.name,
          artifact_location: input.artifactLocation ?? '',
          lifecycle_stage: 'active',
          created_at: now,
          updated_at: now,
        },
      });
      // The proxied artifact location needs the id, which only exists after the insert.
      if (!input.artifactLocation)
        await repo.updateExperiment({ tx, id, set: { artifact_location: `mlflow-artifacts:/${id}` } });
      for (const [key, value] of Object.entries(input.tags ?? {}))
        await repo.upsertExperimentTag({ tx, experimentId: id, key, value });
      await audit.append(tx, {
        actor: input.actor,
        action: 'experiment.create',
        entityType: 'experiment',
        entityId: String(id),
        after: { name: input.name, tags: input.tags ?? {} },
      });
      return id;
    });
    return get(String(id));
  }

  async function changeStage(actor: string, id: string, from: string, to: string, action: string) {
    const now = clock.now();
    await inTransaction(db, async (tx) => {
      const row = await getRow(tx, id);
      if (row.lifecycle_stage !== from) {
        throw new ValidationError(`experiment '${id}' is ${row.lifecycle_stage}, not ${from}`, {
          field: 'experiment_id',
        });
      }
      await repo.updateExperiment({
        tx,
        id: row.id,
        set: { lifecycle_stage: to, deleted_at: to === 'deleted' ? now : null, updated_at: now },
      });
      const runs = await setLifecycleOfExperimentRuns({ tx, experimentId: row.id, from, to, at: now });
      await audit.append(tx, {
        actor,
        action,
        entityType: 'experiment',
        entityId: id,
        before: { lifecycleStage: from },
        after: { lifecycleStage: to },
        details: { runs },
      });
    });
  }

  async function rename(input: { actor: string; id: string; name: string }): Promise<Experiment> {
    await inTransaction(db, async (tx) => {
      const row = await getRow(tx, input.id);
      const clash = await repo.findExperimentByName({ tx, name: input.name });
      if (clash && clash.id !== row.id) throw new AlreadyExistsError('experiment', input.name);
      await repo.updateExperiment({ tx, id: row.id, set: { name: input.name, updated_at: clock.now() } });
      await audit.append(tx, {
        actor: input.actor,
        action: 'experiment.rename',
        entityType: 'experiment',
        entityId: input.id,
        before: { name: row.name },
        after: { name: input.name },
      });
    });
    return get(input.id);
  }

  async function setTag(input: { actor: string; id: string; key: string; value: string }): Promise<void> {
    await inTransaction(db, async (tx) => {
      const row = await getRow(tx, input.id);
      await repo.upsertExperimentTag({ tx, experimentId: row.id, key: input.key, value: input.value });
      await audit.append(tx, {
        actor: input.actor,
        action: 'experiment.tag.set',
        entityType: 'experiment',
        entityId: input.id,
        after: { key: input.key, value: input.value },
      });
    });
  }

  async function deleteTag(input: { actor: string; id: string; key: string }): Promise<void> {
    await inTransaction(db, async (tx) => {
      const row = await getRow(tx, input.id);
      if (!(await repo.deleteExperimentTag({ tx, experimentId: row.id, key: input.key }))) {
        throw new NotFoundError('experiment tag', input.key);
      }
      await audit.append(tx, {
        actor: input.actor,
        action: 'experiment.tag.delete',
        entityType: 'experiment',
        entityId: input.id,
        before: { key: input.key },
      });
    });
  }

  async function search(input: SearchExperimentsInput = {}): Promise<ExperimentPage> {
    const limit = input.maxResults ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 50_000) {
      throw new ValidationError('max_results: must be between 1 and 50000', { field: 'max_results' });
    }
    const offset = decodePageToken(input.pageToken);
    const rows = await repo.listExperiments({
      tx: db,
      q: {
        stages: stagesOf(input.viewType ?? 'ACTIVE_ONLY'),
        ...parseExperimentFilter(input.filter),
        orderBy: parseExperimentOrderBy(input.orderBy),
        offset,
        limit: limit + 1,
      },
    });
    const page = rows.slice(0, limit);
    return {
      experiments: await toExperiments(db, page),
      ...(rows.length > limit ? { nextPageToken: encodePageToken(offset + limit) } : {}),
    };
  }

  /** The datasets the experiments' runs read, newest first (MLflow's search-datasets), at most `limit`. */
  async function datasetSummaries(experimentIds: string[], limit = 1000) {
    return listDatasetSummaries({ tx: db, experimentIds: experimentIds.map(parseExperimentId), limit });
  }

  return {
    create,
    get,
    datasetSummaries,
    getByName,
    findByName,
    rename,
    setTag,
    deleteTag,
    search,
    delete: (actor: string, id: string) => changeStage(actor, id, 'active', 'deleted', 'experiment.delete'),
    restore: (actor: string, id: string) => changeStage(actor, id, 'deleted', 'active', 'experiment.restore'),
  };
}

export type ExperimentService = ReturnType<typeof createExperimentService>;
