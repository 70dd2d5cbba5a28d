import type { AuditLog } from '../audit/index.js';
import { type Clock, toIso } from '../core/clock.js';
import { AlreadyExistsError, isAppError, NotFoundError, ValidationError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseOrThrow } from '../core/validate.js';
import type { ModelVersion } from '../registry/index.js';
import { type Db, isUniqueViolation } from '../store/index.js';
import type { DeploymentTable } from '../store/schema-serving.js';
import * as repo from './deployment.repo.js';
import type { ServingEvents } from './serving.events.js';
import {
  type Challenger,
  type CreateDeploymentInput,
  createDeploymentBodySchema,
  type Deployment,
  type UpdateDeploymentInput,
  updateDeploymentBodySchema,
} from './serving.schema.js';

/** The registry reads deployments need: a ref to its version (services.registry.versions). */
export interface VersionResolver {
  resolve(ref: string): Promise<ModelVersion>;
}

export interface DeploymentServiceDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  registry: { versions: VersionResolver };
  events: ServingEvents;
}

export type DeploymentChange = 'updated' | 'deleted';

export function toDeployment(row: DeploymentTable): Deployment {
  return {
    id: row.id,
    name: row.name,
    model: row.model,
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

  /** The ref must resolve now to an ONNX version with a signature: what a runtime can serve. */
  async function checkServable(fullRef: string, field: string): Promise<ModelVersion> {
    let v: ModelVersion;
    try {
      v = await registry.versions.resolve(fullRef);
    } catch (err) {
      if (isAppError(err) && (err.code === 'NOT_FOUND' || err.code === 'VALIDATION_FAILED')) {
        throw new ValidationError(`${field}: '${fullRef}' does not resolve (${err.message})`, { field });
      }
      throw err;
    }
    if (v.format !== 'onnx' || v.signature === null) {
      throw new ValidationError(
        `${field}: '${v.model}@${v.version}' is not a servable model (it must be ONNX with a signature; it is ${v.format}${v.signature ? '' : ' without a signature'})`,
        { field },
      );
    }
    return v;
  }

  /** Normalises and checks a challenger against the champion's model; undefined/null mean none. */
  async function checkChallenger(
    model: string,
    ref: string,
    input: CreateDeploymentInput['challenger'] | null | undefined,
  ): Promise<Challenger | null> {
    if (!input) return null;
    let cref = input.ref;
    if (cref.includes('@')) {
      const split = splitModelRef(cref, 'challenger.ref');
      const other = await checkServable(cref, 'challenger.ref');
      if (other.model !== model) {
        throw new ValidationError(
          `challenger.ref: the challenger must be a version of '${model}', not of '${split.model}'`,
          { field: 'challenger.ref' },
        );
      }
      cref = split.ref;
    } else {
      await checkServable(`${model}@${cref}`, 'challenger.ref');
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
    const challenger = await checkChallenger(champion.model, ref, body.challenger);
    const now = clock.now();
    const row: DeploymentTable = {
      id: newId('dep', now),
      name: body.name,
      model: champion.model,
      ref,
      challenger_ref: challenger?.ref ?? null,
      challenger_mode: challenger?.mode ?? null,
      canary_percent: challenger?.percent ?? null,
      ledger_mode: body.ledgerMode ?? 'durable',
      created_by: actor,
      created_at: now,
      updated_at: now,
      deleted_at: null,
    };
    try {
      await db.transaction().execute(async (tx) => {
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

  /** Changes what a deployment follows, its challenger (null removes it) or its ledger mode. */
  async function update(input: { actor: string; name: string } & UpdateDeploymentInput): Promise<Deployment> {
    const { actor, name, ...rest } = input;
    const body = parseOrThrow(updateDeploymentBodySchema, rest);
    const current = await getRow(name);
    if (current.deleted_at !== null) throw new NotFoundError('deployment', name);
    let model = current.model;
    let ref = current.ref;
    if (body.model !== undefined) {
      const split = splitModelRef(body.model);
      model = (await checkServable(`${split.model}@${split.ref}`, 'model')).model;
      ref = split.ref;
    }
    const set: Partial<DeploymentTable> = { updated_at: clock.now(), model, ref };
    if (body.challenger !== undefined) {
      const c = await checkChallenger(model, ref, body.challenger);
      Object.assign(set, {
        challenger_ref: c?.ref ?? null,
        challenger_mode: c?.mode ?? null,
        canary_percent: c?.percent ?? null,
      });
    } else if (current.challenger_ref !== null && (model !== current.model || ref !== current.ref)) {
      // The kept challenger must still make sense next to the new champion.
      await checkChallenger(model, ref, {
        ref: current.challenger_ref,
        mode: current.challenger_mode === 'canary' ? 'canary' : 'shadow',
        ...(current.challenger_mode === 'canary' ? { percent: current.canary_percent ?? 0 } : {}),
      });
    }
    if (body.ledgerMode !== undefined) set.ledger_mode = body.ledgerMode;
    const row = await db.transaction().execute(async (tx) => {
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
    const row = await db.transaction().execute(async (tx) => {
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
    /** Every live deployment, by name. */
    list: async (): Promise<Deployment[]> => (await repo.listLive({ tx: db })).map(toDeployment),
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
