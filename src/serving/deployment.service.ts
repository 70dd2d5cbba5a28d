import type { AuditLog } from '../audit/index.js';
import { type Clock, toIso } from '../core/clock.js';
import {
  AlreadyExistsError,
  AppError,
  ForbiddenError,
  isAppError,
  NotFoundError,
  ValidationError,
} from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseOrThrow } from '../core/validate.js';
import type { ModelVersion } from '../registry/index.js';
import { type Db, inTransaction, isUniqueViolation } from '../store/index.js';
import type { DeploymentTable } from '../store/schema-serving.js';
import * as repo from './deployment.repo.js';
import * as runtimeRepo from './deployment-runtime.repo.js';
import { isServableFormat } from './model-runner.js';
import { countColumns } from './request-counts.js';
import type { ServingEvents } from './serving.events.js';
import {
  type Challenger,
  type CreateDeploymentInput,
  createDeploymentBodySchema,
  type Deployment,
  type DeploymentResilience,
  type DeploymentStats,
  HEARTBEAT_INTERVAL_MS,
  type RequestCounts,
  type UpdateDeploymentInput,
  updateDeploymentBodySchema,
} from './serving.schema.js';

/** The registry reads deployments need (services.registry fits). */
export interface DeploymentRegistry {
  versions: {
    resolve(ref: string): Promise<ModelVersion>;
    /** `<n>`, `<alias>` or `latest` inside the model with this id, whatever it is called now. */
    resolveIn(modelId: string, selector: string): Promise<ModelVersion>;
  };
  policies: {
    /** The aliases of a model that move only through promotion requests. */
    protectedAliases(modelId: string): Promise<string[]>;
  };
}

export interface DeploymentServiceDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  registry: DeploymentRegistry;
  events: ServingEvents;
}

const PINNED = /^\d+$/;

export type DeploymentChange = 'updated' | 'deleted';

/** A resilience override as stored: only for external models (the gateway's settings), null when empty. */
function resilienceText(r: DeploymentResilience | undefined, champion: ModelVersion): string | null {
  if (r === undefined || Object.keys(r).length === 0) return null;
  if (champion.format !== 'endpoint')
    throw new ValidationError(
      `resilience: ${champion.model}@${champion.version} is not an external model (${champion.format}); timeouts, retries and the breaker apply to models served through the gateway`,
      { field: 'resilience' },
    );
  return JSON.stringify(r);
}

export function toDeployment(row: DeploymentTable): Deployment {
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    modelId: row.model_id,
    ref: row.ref,
    challenger:
      row.challenger_ref === null
        ? null
        : {
            ref: row.challenger_ref,
            mode: row.challenger_mode === 'canary' ? 'canary' : 'shadow',
            percent: row.canary_percent,
          },
    ledgerMode: row.ledger_mode === 'async' ? 'async' : 'durable',
    resilience: row.resilience ? (JSON.parse(row.resilience) as DeploymentResilience) : null,
    createdBy: row.created_by,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    deletedAt: row.deleted_at === null ? null : toIso(row.deleted_at),
  };
}

/** Splits `<model>@<alias|n>`; model names never hold '@'. */
export function splitModelRef(value: string, field = 'model'): { model: string; ref: string } {
  const at = value.indexOf('@');
  const model = at < 0 ? '' : value.slice(0, at).trim();
  const ref = at < 0 ? '' : value.slice(at + 1).trim();
  if (!model || !ref) {
    throw new ValidationError(`${field}: must look like <model>@<alias or version number>, got '${value}'`, {
      field,
    });
  }
  return { model, ref };
}

/**
 * Deployments: a name, the model ref it follows (an alias, or a pinned version number), an optional
 * challenger of the same model (shadow or canary) and the ledger mode. Every change is audited in the
 * transaction that makes it; deletes are soft and free the name.
 */
export function createDeploymentService(deps: DeploymentServiceDeps) {
  const { db, audit, clock, registry, events } = deps;
  const listeners = new Set<(d: Deployment, change: DeploymentChange) => void>();

  /**
   * The ref must resolve now to an ONNX version with a signature: what a runtime can serve. `within`
   * (a model id) resolves a bare ref inside that model, whatever it is called now.
   */
  async function checkServable(fullRef: string, field: string, within?: string): Promise<ModelVersion> {
    let v: ModelVersion;
    try {
      v =
        within === undefined
          ? await registry.versions.resolve(fullRef)
          : await registry.versions.resolveIn(within, fullRef);
    } catch (err) {
      // The code stays what the registry said (a missing model or alias is not found, a malformed
      // ref is invalid); the message names the field it came from.
      if (isAppError(err) && (err.code === 'NOT_FOUND' || err.code === 'VALIDATION_FAILED')) {
        throw new AppError(err.code, `${field}: '${fullRef}' does not resolve (${err.message})`, { field });
      }
      throw err;
    }
    if (!isServableFormat(v.format) || v.signature === null) {
      throw new ValidationError(
        `${field}: '${v.model}@${v.version}' is not a servable model (it must be ONNX or an external endpoint, with a signature; it is ${v.format}${v.signature ? '' : ' without a signature'})`,
        { field },
      );
    }
    return v;
  }

  /** Normalises and checks a challenger against the champion's model; undefined/null mean none. */
  async function checkChallenger(
    champion: ModelVersion,
    ref: string,
    input: CreateDeploymentInput['challenger'] | null | undefined,
  ): Promise<Challenger | null> {
    if (!input) return null;
    let cref = input.ref;
    if (cref.includes('@')) {
      const split = splitModelRef(cref, 'challenger.ref');
      const other = await checkServable(cref, 'challenger.ref');
      if (other.modelId !== champion.modelId) {
        throw new ValidationError(
          `challenger.ref: the challenger must be a version of '${champion.model}', not of '${split.model}'`,
          { field: 'challenger.ref' },
        );
      }
      cref = split.ref;
    } else {
      await checkServable(cref, 'challenger.ref', champion.modelId);
    }
    if (cref === ref) {
      throw new ValidationError(
        `challenger.ref: the challenger follows the same ref as the champion ('${ref}')`,
        {
          field: 'challenger.ref',
        },
      );
    }
    if (input.mode === 'canary' && input.percent === undefined) {
      throw new ValidationError(
        'challenger.percent: a canary needs the share (0-100) of request keys it answers',
        {
          field: 'challenger.percent',
        },
      );
    }
    if (input.mode === 'shadow' && input.percent !== undefined) {
      throw new ValidationError(
        'challenger.percent: a shadow challenger sees every request; percent is for canary',
        {
          field: 'challenger.percent',
        },
      );
    }
    return { ref: cref, mode: input.mode, percent: input.mode === 'canary' ? (input.percent ?? 0) : null };
  }

  /** The protected aliases of a model; a deployment of a model that is gone has none left to guard. */
  async function protectedOf(modelId: string | null): Promise<string[]> {
    if (modelId === null) return [];
    try {
      return await registry.policies.protectedAliases(modelId);
    } catch (err) {
      if (isAppError(err) && err.code === 'NOT_FOUND') return [];
      throw err;
    }
  }

  /**
   * A deployment that follows a protected alias (`champion` by default) serves production: that alias
   * moves only through promotion requests, so what the deployment serves may not change around them.
   * Its champion keeps following a protected alias of the same model (or is pinned to the version the
   * alias holds now), and a canary challenger, which answers real requests, must follow a protected
   * alias too. A shadow challenger answers nobody and stays free.
   */
  async function assertGoverned(
    name: string,
    before: { modelId: string | null; ref: string } | undefined,
    after: { champion: ModelVersion; ref: string; challenger: Challenger | null },
  ): Promise<void> {
    const refuse = (what: string, alias: string) =>
      new ForbiddenError(
        `deployment '${name}' serves production (it follows '${alias}', which moves only through promotion requests); ${what} would bypass that: open a promotion request instead`,
        { field: 'model', alias },
      );
    const wasProduction =
      before !== undefined &&
      !PINNED.test(before.ref) &&
      (await protectedOf(before.modelId)).includes(before.ref);
    if (wasProduction && before) {
      if (after.champion.modelId !== before.modelId)
        throw refuse(`pointing it at another model ('${after.champion.model}')`, before.ref);
      const kept = (await protectedOf(before.modelId)).includes(after.ref);
      if (!kept) {
        // Pinning is no move only onto the version the alias holds now (an alias gone holds none).
        const holder = await registry.versions
          .resolveIn(before.modelId!, before.ref)
          .then((v) => v.version)
          .catch(() => undefined);
        if (!PINNED.test(after.ref) || holder !== after.champion.version)
          throw refuse(`pointing it at ${after.champion.model}@${after.ref}`, before.ref);
      }
    }
    const protectedNow = await protectedOf(after.champion.modelId);
    const isProduction = wasProduction || (!PINNED.test(after.ref) && protectedNow.includes(after.ref));
    const c = after.challenger;
    if (isProduction && c?.mode === 'canary' && (c.percent ?? 0) > 0 && !protectedNow.includes(c.ref))
      throw refuse(
        `a canary answering ${c.percent}% of requests from '${c.ref}' (not a protected alias)`,
        before?.ref ?? after.ref,
      );
  }

  /** A live deployment by name, or any deployment (deleted too) by its dep_ id. */
  async function getRow(nameOrId: string): Promise<DeploymentTable> {
    const row =
      (await repo.findLiveByName({ tx: db, name: nameOrId })) ??
      (nameOrId.startsWith('dep_') ? await repo.findById({ tx: db, id: nameOrId }) : undefined);
    if (!row) throw new NotFoundError('deployment', nameOrId);
    return row;
  }

  function notify(d: Deployment, change: DeploymentChange) {
    for (const l of listeners) {
      try {
        l(d, change);
      } catch {
        // A listener's failure is its own; the change is committed.
      }
    }
  }

  /** Creates a deployment; 409 when a live one holds the name, 400 when the model cannot be served. */
  async function create(input: { actor: string } & CreateDeploymentInput): Promise<Deployment> {
    const { actor, ...rest } = input;
    const body = parseOrThrow(createDeploymentBodySchema, rest);
    const { model: name, ref } = splitModelRef(body.model);
    const champion = await checkServable(`${name}@${ref}`, 'model');
    const challenger = await checkChallenger(champion, ref, body.challenger);
    await assertGoverned(body.name, undefined, { champion, ref, challenger });
    const now = clock.now();
    const row: DeploymentTable = {
      id: newId('dep', now),
      name: body.name,
      model: champion.model,
      model_id: champion.modelId,
      ref,
      challenger_ref: challenger?.ref ?? null,
      challenger_mode: challenger?.mode ?? null,
      canary_percent: challenger?.percent ?? null,
      ledger_mode: body.ledgerMode ?? 'durable',
      resilience: resilienceText(body.resilience, champion),
      created_by: actor,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    try {
      await inTransaction(db, async (tx) => {
        if (await repo.findLiveByName({ tx, name: row.name }))
          throw new AlreadyExistsError('deployment', row.name);
        await repo.insertDeployment({ tx, row });
        await audit.append(tx, {
          actor,
          action: 'deployment.create',
          entityType: 'deployment',
          entityId: row.id,
          after: row,
          details: { name: row.name, model: `${row.model}@${row.ref}`, servedVersion: champion.version },
        });
        await events.emit(tx, 'deployment.created', { deployment: toDeployment(row), actor }, { actor });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AlreadyExistsError('deployment', row.name);
      throw err;
    }
    return toDeployment(row);
  }

  /** What an update changes in what a deployment serves, checked as create checks it and governed. */
  async function servingChange(
    current: DeploymentTable,
    body: UpdateDeploymentInput,
  ): Promise<Partial<DeploymentTable>> {
    let ref = current.ref;
    let champion: ModelVersion;
    if (body.model !== undefined) {
      const split = splitModelRef(body.model);
      champion = await checkServable(`${split.model}@${split.ref}`, 'model');
      ref = split.ref;
    } else {
      champion =
        current.model_id === null
          ? await checkServable(`${current.model}@${ref}`, 'model')
          : await checkServable(ref, 'model', current.model_id);
    }
    const set: Partial<DeploymentTable> = {
      model: champion.model,
      model_id: champion.modelId,
      ref,
    };
    const kept: CreateDeploymentInput['challenger'] | null =
      current.challenger_ref === null
        ? null
        : {
            ref: current.challenger_ref,
            mode: current.challenger_mode === 'canary' ? 'canary' : 'shadow',
            ...(current.challenger_mode === 'canary' ? { percent: current.canary_percent ?? 0 } : {}),
          };
    // A kept challenger must still make sense next to the new champion, so it is checked again too.
    const challenger = await checkChallenger(
      champion,
      ref,
      body.challenger !== undefined ? body.challenger : kept,
    );
    Object.assign(set, {
      challenger_ref: challenger?.ref ?? null,
      challenger_mode: challenger?.mode ?? null,
      canary_percent: challenger?.percent ?? null,
    });
    await assertGoverned(
      current.name,
      { modelId: current.model_id, ref: current.ref },
      {
        champion,
        ref,
        challenger,
      },
    );
    return set;
  }

  /** Changes what a deployment follows, its challenger (null removes it) or its ledger mode. */
  async function update(input: { actor: string; name: string } & UpdateDeploymentInput): Promise<Deployment> {
    const { actor, name, ...rest } = input;
    const body = parseOrThrow(updateDeploymentBodySchema, rest);
    const current = await getRow(name);
    if (current.deleted_at !== null) throw new NotFoundError('deployment', name);
    const set: Partial<DeploymentTable> = { updated_at: clock.now() };
    if (body.model !== undefined || body.challenger !== undefined)
      Object.assign(set, await servingChange(current, body));
    if (body.ledgerMode !== undefined) set.ledger_mode = body.ledgerMode;
    if (body.resilience !== undefined) {
      const merged =
        body.resilience === null
          ? undefined
          : { ...(current.resilience ? JSON.parse(current.resilience) : {}), ...body.resilience };
      const champion =
        current.model_id === null
          ? await checkServable(`${current.model}@${set.ref ?? current.ref}`, 'model')
          : await checkServable(set.ref ?? current.ref, 'model', current.model_id);
      set.resilience = resilienceText(merged, champion);
    }
    const row = await inTransaction(db, async (tx) => {
      const before = await repo.findById({ tx, id: current.id });
      if (!before || before.deleted_at !== null) throw new NotFoundError('deployment', name);
      await repo.updateDeployment({ tx, id: before.id, set });
      await audit.append(tx, {
        actor,
        action: 'deployment.update',
        entityType: 'deployment',
        entityId: before.id,
        before,
        after: set,
        details: { name: before.name },
      });
      const after = { ...before, ...set };
      await events.emit(tx, 'deployment.updated', { deployment: toDeployment(after), actor }, { actor });
      return after;
    });
    const d = toDeployment(row);
    notify(d, 'updated');
    return d;
  }

  /** Soft-deletes a deployment; its logged predictions stay. */
  async function remove(input: { actor: string; name: string }): Promise<void> {
    const row = await inTransaction(db, async (tx) => {
      const found = await repo.findLiveByName({ tx, name: input.name });
      const row =
        found ?? (input.name.startsWith('dep_') ? await repo.findById({ tx, id: input.name }) : undefined);
      if (!row || row.deleted_at !== null) throw new NotFoundError('deployment', input.name);
      const now = clock.now();
      await repo.updateDeployment({ tx, id: row.id, set: { deleted_at: now, updated_at: now } });
      await audit.append(tx, {
        actor: input.actor,
        action: 'deployment.delete',
        entityType: 'deployment',
        entityId: row.id,
        before: row,
        details: { name: row.name },
      });
      await events.emit(
        tx,
        'deployment.deleted',
        { deployment: toDeployment({ ...row, deleted_at: now, updated_at: now }), actor: input.actor },
        { actor: input.actor },
      );
      return row;
    });
    notify(toDeployment(row), 'deleted');
  }

  return {
    create,
    /** A live deployment by name, or any by its id (deletedAt says); NotFoundError otherwise. */
    get: async (nameOrId: string) => toDeployment(await getRow(nameOrId)),
    /** As get, or undefined. */
    find: async (nameOrId: string) => {
      try {
        return toDeployment(await getRow(nameOrId));
      } catch (err) {
        if (isAppError(err) && err.code === 'NOT_FOUND') return undefined;
        throw err;
      }
    },
    /** Every live deployment, by name, each with its latest serving process (running or not). */
    list: async (): Promise<Deployment[]> => {
      const rows = await repo.listLive({ tx: db });
      const runtimes = await runtimeRepo.latestFor({ tx: db, deploymentIds: rows.map((r) => r.id) });
      const now = clock.now();
      return rows.map((row) => {
        const rt = runtimes.get(row.id);
        return {
          ...toDeployment(row),
          runtime: rt
            ? {
                running: rt.stopped_at === null && now - rt.beat_at <= 3 * HEARTBEAT_INTERVAL_MS,
                address: rt.address,
                host: rt.host,
                pid: rt.pid,
                since: toIso(rt.started_at),
                lastBeatAt: toIso(rt.beat_at),
                stoppedAt: rt.stopped_at === null ? null : toIso(rt.stopped_at),
              }
            : null,
        };
      });
    },
    /**
     * A serving process says it is alive (first call: it started). Operational, not a change of record:
     * not audited. Returns the runtime id to beat with.
     */
    heartbeat: async (input: {
      runtimeId?: string;
      deployment: string;
      host: string;
      pid: number;
      address: string;
      /** Its predict requests so far (cumulative since it started). */
      counts?: RequestCounts;
    }): Promise<string> => {
      const now = clock.now();
      const id = input.runtimeId ?? newId('rt', now);
      const dep = await getRow(input.deployment);
      await runtimeRepo.beat({
        tx: db,
        row: {
          id,
          deployment_id: dep.id,
          host: input.host,
          pid: input.pid,
          address: input.address,
          started_at: now,
          beat_at: now,
          stopped_at: null,
          ...countColumns(input.counts ?? { ok: 0, failed: 0, byCode: {} }),
        },
      });
      return id;
    },
    /** A serving process stopped cleanly; `counts`: its final request counts. */
    stopped: async (runtimeId: string, counts?: RequestCounts): Promise<void> =>
      runtimeRepo.markStopped({
        tx: db,
        id: runtimeId,
        at: clock.now(),
        ...(counts ? { counts: countColumns(counts) } : {}),
      }),
    /** Predict requests and errors by code, summed over every process that served the deployment (as of their last beats). */
    stats: async (nameOrId: string): Promise<DeploymentStats> => {
      const dep = await getRow(nameOrId);
      const rows = await runtimeRepo.allFor({ tx: db, deploymentId: dep.id });
      let requests = 0;
      let errors = 0;
      let since: number | null = null;
      const errorsByCode: Record<string, number> = {};
      for (const r of rows) {
        requests += Number(r.requests_ok) + Number(r.requests_failed);
        errors += Number(r.requests_failed);
        for (const [code, n] of Object.entries(JSON.parse(r.errors_by_code) as Record<string, number>))
          errorsByCode[code] = (errorsByCode[code] ?? 0) + n;
        const started = Number(r.started_at);
        if (since === null || started < since) since = started;
      }
      return {
        deployment: dep.name,
        requests,
        errors,
        errorsByCode,
        since: since === null ? null : toIso(since),
        runtimes: rows.length,
      };
    },
    update,
    remove,
    /** Calls back after each committed update or delete in this process (runtimes reload or close). */
    onChange(listener: (d: Deployment, change: DeploymentChange) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type DeploymentService = ReturnType<typeof createDeploymentService>;
