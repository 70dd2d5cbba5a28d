import { governedRemoval, governedRow } from '../audit/index.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseOrThrow } from '../core/validate.js';
import { inTransaction, type Tx } from '../store/index.js';
import type { RegisteredModelTable } from '../store/schema-registry.js';
import * as repo from './alias.repo.js';
import { getModelRow, getVersionRow } from './lookups.js';
import type { PolicyService } from './policy.service.js';
import type { AliasAt, AliasEvent, AliasEventKind } from './registry.schema.js';
import { aliasSchema, isoTimeSchema } from './registry.schema.js';
import type { Actor, RegistryDeps } from './registry-deps.js';
import { toAliasEvent } from './registry-view.js';

export interface AliasMove {
  actor: Actor;
  model: RegisteredModelTable;
  alias: string;
  /** Where the caller saw the alias (null: unset); if it moved since, the move is refused with 409. */
  expected: number | null;
  to: number | null;
  kind: AliasEventKind;
  reason?: string | null | undefined;
  requestId?: string | null | undefined;
  approvals?: AliasEvent['approvals'] | undefined;
  emergency?: boolean | undefined;
}

/** Aliases: moves (each one an immutable history row, an audit entry and an event), history, time travel. */
export function createAliasService(deps: RegistryDeps, policies: PolicyService) {
  const { db, audit, clock, events } = deps;

  /** Moves an alias inside the caller's transaction; compare-and-set, so a concurrent mover gets 409. */
  async function move(tx: Tx, m: AliasMove): Promise<AliasEvent> {
    const now = clock.now();
    const row = {
      id: newId('ale', now),
      model_id: m.model.id,
      alias: m.alias,
      kind: m.kind,
      from_version: m.expected,
      to_version: m.to,
      actor: m.actor.name,
      at: now,
      reason: m.reason ?? null,
      request_id: m.requestId ?? null,
      approvals: JSON.stringify({ list: m.approvals ?? [], emergency: m.emergency === true }),
    };
    // The audit entry goes first: it takes the chain's lock before the alias row's, the order every
    // registry transaction keeps, so two movers wait on each other instead of deadlocking.
    await audit.append(tx, {
      actor: m.actor.name,
      action: `model_alias.${m.kind}`,
      entityType: 'model_alias',
      entityId: `${m.model.id}/${m.alias}`,
      before: { version: m.expected },
      after: { version: m.to },
      details: {
        model: m.model.name,
        alias: m.alias,
        from: m.expected,
        to: m.to,
        eventId: row.id,
        ...(m.requestId ? { requestId: m.requestId } : {}),
        ...(m.emergency ? { emergency: true } : {}),
      },
      governed: [
        m.to === null
          ? governedRemoval('model_aliases', `${m.model.id}/${m.alias}`)
          : governedRow('model_aliases', {
              model_id: m.model.id,
              alias: m.alias,
              version: m.to,
              updated_by: m.actor.name,
              updated_at: now,
            }),
        governedRow('alias_events', row),
      ],
    });
    const moved =
      m.to === null
        ? m.expected !== null &&
          (await repo.deleteAlias({ tx, modelId: m.model.id, alias: m.alias, expected: m.expected }))
        : await repo.compareAndSetAlias({
            tx,
            expected: m.expected,
            row: {
              model_id: m.model.id,
              alias: m.alias,
              version: m.to,
              updated_by: m.actor.name,
              updated_at: now,
            },
          });
    if (!moved) {
      throw new ConflictError(
        `alias '${m.alias}' of '${m.model.name}' moved while this change was prepared (expected ${m.expected ?? 'unset'}); try again`,
        { field: 'alias' },
      );
    }
    await repo.insertAliasEvent({ tx, row });
    const event = toAliasEvent(row, m.model.name);
    await events.emit(tx, m.kind === 'rollback' ? 'alias.rolled_back' : 'alias.moved', event, {
      actor: m.actor.name,
    });
    return event;
  }

  /** Sets or deletes an alias outside the promotion workflow; refused for aliases the policy protects. */
  async function setDirect(input: {
    actor: Actor;
    model: string;
    alias: string;
    version: number | null;
    reason?: string | undefined;
  }): Promise<AliasEvent> {
    const alias = parseOrThrow(aliasSchema, input.alias, 'alias');
    const model = await getModelRow(db, input.model);
    const { policy } = await policies.effective(db, model);
    if (policy.protectedAliases.includes(alias)) {
      throw new ForbiddenError(
        `alias '${alias}' of '${model.name}' is protected by its promotion policy; open a promotion request (sextant models promote ${model.name}@<version> --alias ${alias})`,
        { field: 'alias' },
      );
    }
    return inTransaction(db, async (tx) => {
      const current = await repo.findAlias({ tx, modelId: model.id, alias });
      if (input.version === null) {
        if (!current) throw new NotFoundError('alias', `${model.name}@${alias}`);
      } else {
        await getVersionRow(tx, model, input.version);
        if (current?.version === input.version) {
          throw new ConflictError(`${model.name}@${input.version} already holds '${alias}'`, {
            field: 'version',
          });
        }
      }
      return move(tx, {
        actor: input.actor,
        model,
        alias,
        expected: current?.version ?? null,
        to: input.version,
        kind: input.version === null ? 'delete' : 'set',
        reason: input.reason,
      });
    });
  }

  /** Every move of a model's aliases (or one alias), oldest first. */
  async function history(input: { model: string; alias?: string | undefined }): Promise<AliasEvent[]> {
    const model = await getModelRow(db, input.model);
    const rows = await repo.listAliasEvents({
      tx: db,
      modelId: model.id,
      ...(input.alias ? { alias: input.alias } : {}),
    });
    return rows.map((r) => toAliasEvent(r, model.name));
  }

  /** Which version held each alias (or one alias) at a moment, and the move that put it there. */
  async function at(input: { model: string; alias?: string | undefined; at: string }): Promise<AliasAt[]> {
    const model = await getModelRow(db, input.model);
    const text = parseOrThrow(isoTimeSchema, input.at, 'at');
    // A time without a zone is UTC, as everywhere in the API (Date.parse would take it as local time).
    const t = Date.parse(/T[\d:.]+$/.test(text) ? `${text}Z` : text);
    const names = input.alias
      ? [input.alias]
      : [
          ...new Set(
            (await repo.listAliasEvents({ tx: db, modelId: model.id, upTo: t })).map((e) => e.alias),
          ),
        ].sort();
    const out: AliasAt[] = [];
    for (const alias of names) {
      const last = await repo.lastAliasEvent({ tx: db, modelId: model.id, alias, upTo: t });
      out.push({
        model: model.name,
        alias,
        at: new Date(t).toISOString(),
        version: last?.to_version ?? null,
        since: last ? toAliasEvent(last, model.name) : null,
      });
    }
    return out;
  }

  /** The version an alias held before its current holder, from the move that installed the holder. */
  async function previousHolder(model: RegisteredModelTable, alias: string) {
    const current = await repo.findAlias({ tx: db, modelId: model.id, alias });
    if (!current) throw new NotFoundError('alias', `${model.name}@${alias}`);
    const last = await repo.lastAliasEvent({ tx: db, modelId: model.id, alias });
    const previous = last?.to_version === current.version ? last.from_version : null;
    if (previous === null) {
      throw new ConflictError(`alias '${alias}' of '${model.name}' has no previous holder to roll back to`, {
        field: 'alias',
      });
    }
    await getVersionRow(db, model, previous);
    return { current: current.version, previous };
  }

  return { move, setDirect, history, at, previousHolder };
}

export type AliasService = ReturnType<typeof createAliasService>;
