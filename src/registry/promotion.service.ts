import { governedRow } from '../audit/index.js';
import {
  assertNever,
  ConflictError,
  ForbiddenError,
  InvalidTransitionError,
  NotFoundError,
  ValidationError,
} from '../core/errors.js';
import { newId } from '../core/ids.js';
import { parseOrThrow } from '../core/validate.js';
import { inTransaction, isUniqueViolation } from '../store/index.js';
import type {
  ModelVersionTable,
  PromotionRequestTable,
  RegisteredModelTable,
} from '../store/schema-registry.js';
import * as aliases from './alias.repo.js';
import type { AliasService } from './alias.service.js';
import { allPass, createGateEvaluator } from './gates.js';
import { getModelRow, getVersionRow, resolveRef } from './lookups.js';
import * as models from './model.repo.js';
import type { Policy } from './policy.js';
import type { PolicyService } from './policy.service.js';
import * as repo from './promotion.repo.js';
import { createPromotionExecution } from './promotion-execution.js';
import {
  aliasSchema,
  type GateResult,
  type PromotionCheck,
  type PromotionKind,
  type PromotionRequest,
  type PromotionStatus,
  type RollbackResult,
} from './registry.schema.js';
import type { Actor, RegistryDeps } from './registry-deps.js';
import { toRequest } from './registry-view.js';

/*
 * Promotion requests. pending -> executed (approved by enough reviewers and gates pass again),
 * pending -> blocked (a gate fails, at opening or at execution), pending -> rejected | cancelled,
 * and pending -> expired (past expires_at; shown at once, stored on the next touch).
 * Only a pending request holds its alias's open_key, so there is at most one open request per alias.
 */

/** Which states a request can leave: only pending moves on. */
function assertPending(status: PromotionStatus, to: string): void {
  switch (status) {
    case 'pending':
      return;
    case 'blocked':
    case 'rejected':
    case 'executed':
    case 'expired':
    case 'cancelled':
      throw new InvalidTransitionError('promotion request', status, to);
    default:
      assertNever(status);
  }
}

export function createPromotionService(
  deps: RegistryDeps,
  policies: PolicyService,
  aliasService: AliasService,
) {
  const { db, audit, clock, events } = deps;
  const gates = createGateEvaluator(deps);
  const { expire, execute } = createPromotionExecution(deps, aliasService);

  async function view(row: PromotionRequestTable): Promise<PromotionRequest> {
    const model = await models.findModelById({ tx: db, id: row.model_id });
    const decisions = await repo.listDecisions({ tx: db, requestIds: [row.id] });
    return toRequest(row, model?.name ?? row.model_id, decisions, clock.now());
  }

  async function getRow(id: string): Promise<PromotionRequestTable> {
    const row = await repo.findRequest({ tx: db, id });
    if (!row) throw new NotFoundError('promotion request', id);
    return row;
  }

  /** Opens a request to move `alias` to a version; gates are checked now and stored with it. */
  async function openFor(input: {
    actor: Actor;
    model: RegisteredModelTable;
    version: ModelVersionTable;
    alias: string;
    kind: PromotionKind;
    reason?: string | undefined;
  }): Promise<PromotionRequest> {
    const { actor, model, version, alias } = input;
    const { policy } = await policies.effective(db, model);
    const holder = (await aliases.findAlias({ tx: db, modelId: model.id, alias }))?.version ?? null;
    if (holder === version.version) {
      throw new ConflictError(`${model.name}@${version.version} already holds '${alias}'`, { field: 'ref' });
    }
    // Gates read other domains through their own connections: evaluate before taking the write lock.
    const results = await gates.evaluate(db, policy, model, version);
    const ok = allPass(results);
    const now = clock.now();
    const openKey = `${model.id}/${alias}`;
    const row: PromotionRequestTable = {
      id: newId('prq', now),
      model_id: model.id,
      version: version.version,
      alias,
      kind: input.kind,
      status: ok ? 'pending' : 'blocked',
      open_key: ok ? openKey : null,
      from_version: holder,
      requested_by: actor.name,
      reason: input.reason ?? null,
      policy: JSON.stringify(policy),
      open_gates: JSON.stringify(results),
      execution_gates: null,
      created_at: now,
      expires_at: now + policy.expiresAfter,
      decided_at: ok ? null : now,
      updated_at: now,
    };
    try {
      await inTransaction(db, async (tx) => {
        const open = await repo.findOpenRequest({ tx, openKey });
        if (open && open.expires_at < now) await expire(tx, open);
        else if (open && ok) throw alreadyOpen(model, alias, open.id);
        await repo.insertRequest({ tx, row });
        await audit.append(tx, {
          actor: actor.name,
          action: 'promotion_request.open',
          entityType: 'promotion_request',
          entityId: row.id,
          after: row,
          details: {
            model: model.name,
            version: version.version,
            alias,
            kind: input.kind,
            status: row.status,
          },
        });
        await events.emit(
          tx,
          'promotion_request.opened',
          {
            id: row.id,
            model: model.name,
            version: version.version,
            alias,
            kind: input.kind,
            status: row.status as PromotionStatus,
            gates: results,
            requestedBy: actor.name,
          },
          { actor: actor.name },
        );
        if (ok && policy.approvals === 0) await execute(tx, row, model, results, holder, actor);
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const open = await repo.findOpenRequest({ tx: db, openKey });
      throw alreadyOpen(model, alias, open?.id ?? 'another request');
    }
    return view((await repo.findRequest({ tx: db, id: row.id }))!);
  }

  async function trainingData(version: ModelVersionTable | undefined) {
    const ids = version ? (JSON.parse(version.dataset_version_ids) as string[]) : [];
    const out = [];
    for (const id of ids) {
      const dv = await deps.datasetVersions.get(id).catch(() => undefined);
      out.push(
        dv ? { id, ref: `${dv.dataset}@${dv.number}`, digest: dv.digest } : { id, ref: id, digest: '' },
      );
    }
    return out;
  }

  /**
   * The gates a promotion of `ref` to `alias` would face now, evaluated exactly as openFor evaluates
   * them, with nothing written (a dry run for CI).
   */
  async function check(input: { ref: string; alias: string }): Promise<PromotionCheck> {
    const alias = parseOrThrow(aliasSchema, input.alias, 'alias');
    const { model, version } = await resolveRef(db, input.ref);
    const { policy, view } = await policies.effective(db, model);
    const holder = (await aliases.findAlias({ tx: db, modelId: model.id, alias }))?.version ?? null;
    const holderRow =
      holder === null ? undefined : await models.findVersion({ tx: db, modelId: model.id, version: holder });
    const results = await gates.evaluate(db, policy, model, version);
    return {
      model: model.name,
      version: version.version,
      alias,
      holder,
      policySource: view.source,
      gates: results,
      passed: allPass(results),
      trainingData: { candidate: await trainingData(version), holder: await trainingData(holderRow) },
    };
  }

  async function open(input: { actor: Actor; ref: string; alias: string; reason?: string | undefined }) {
    const alias = parseOrThrow(aliasSchema, input.alias, 'alias');
    const { model, version } = await resolveRef(db, input.ref);
    return openFor({ actor: input.actor, model, version, alias, kind: 'promote', reason: input.reason });
  }

  /** Checks the reviewer against the policy: role, separation of duties, one decision each. */
  async function checkReviewer(row: PromotionRequestTable, policy: Policy, actor: Actor, decision: string) {
    if (!policy.approverRoles.includes(actor.role as 'approver')) {
      throw new ForbiddenError(
        `${actor.name} (${actor.role}) may not ${decision}: the policy allows ${policy.approverRoles.join(', ')}`,
        {
          role: actor.role,
        },
      );
    }
    if (policy.separationOfDuties) {
      if (actor.name === row.requested_by) {
        throw new ForbiddenError(
          `${actor.name} opened request ${row.id} and may not ${decision} it (separation of duties)`,
        );
      }
      const model = (await models.findModelById({ tx: db, id: row.model_id }))!;
      const version = await getVersionRow(db, model, row.version);
      // Versions uploaded before uploaders were recorded as authors: whoever registered the file.
      const author = version.run_author ?? (version.run_id === null ? version.created_by : null);
      if (author && actor.name === author) {
        const authored =
          version.run_id === null ? `uploaded the file of` : `authored run ${version.run_id} behind`;
        throw new ForbiddenError(
          `${actor.name} ${authored} ${model.name}@${row.version} and may not ${decision} its promotion (separation of duties)`,
        );
      }
    }
    const prior = (await repo.listDecisions({ tx: db, requestIds: [row.id] })).find(
      (d) => d.actor === actor.name,
    );
    if (prior)
      throw new ConflictError(`${actor.name} already decided on request ${row.id} (${prior.decision})`, {
        field: 'id',
      });
  }

  /** Refuses a request that is not pending; one past its expiry is marked expired first. */
  async function requirePending(row: PromotionRequestTable, to: string): Promise<void> {
    if (row.status === 'pending' && clock.now() > row.expires_at) {
      await inTransaction(db, (tx) => expire(tx, row));
      throw new InvalidTransitionError('promotion request', 'expired', to);
    }
    assertPending(row.status as PromotionStatus, to);
  }

  async function decide(input: {
    actor: Actor;
    id: string;
    decision: 'approve' | 'reject';
    comment?: string | undefined;
  }) {
    if (input.decision === 'reject' && !input.comment?.trim()) {
      throw new ValidationError('comment: a rejection needs a comment saying why', { field: 'comment' });
    }
    const row = await getRow(input.id);
    const to = input.decision === 'approve' ? 'approved' : 'rejected';
    await requirePending(row, to);
    const policy = JSON.parse(row.policy) as Policy;
    await checkReviewer(row, policy, input.actor, input.decision);
    const model = (await models.findModelById({ tx: db, id: row.model_id }))!;
    const approvals = (await repo.listDecisions({ tx: db, requestIds: [row.id] })).filter(
      (d) => d.decision === 'approve',
    ).length;
    const executes = input.decision === 'approve' && approvals + 1 >= policy.approvals;
    let results: GateResult[] = [];
    let holder: number | null = null;
    if (executes) {
      // The policy as it is now decides the gates at execution: a tightened policy applies.
      const version = await getVersionRow(db, model, row.version);
      results = await gates.evaluate(db, (await policies.effective(db, model)).policy, model, version);
      holder = (await aliases.findAlias({ tx: db, modelId: model.id, alias: row.alias }))?.version ?? null;
    }
    const now = clock.now();
    try {
      await inTransaction(db, async (tx) => {
        if (!(await repo.lockPendingRequest({ tx, id: row.id }))) {
          const fresh = await repo.findRequest({ tx, id: row.id });
          throw new InvalidTransitionError('promotion request', fresh?.status ?? 'unknown', to);
        }
        const decision = {
          id: newId('pdc', now),
          request_id: row.id,
          actor: input.actor.name,
          role: input.actor.role,
          decision: input.decision,
          comment: input.comment ?? null,
          at: now,
        };
        await repo.insertDecision({ tx, row: decision });
        await audit.append(tx, {
          actor: input.actor.name,
          action: `promotion_request.${input.decision}`,
          entityType: 'promotion_request',
          entityId: row.id,
          after: { decision: input.decision, comment: input.comment ?? null },
          details: { model: model.name, version: row.version, alias: row.alias },
          governed: [governedRow('promotion_decisions', decision)],
        });
        if (input.decision === 'reject') {
          await repo.transitionRequest({
            tx,
            id: row.id,
            from: 'pending',
            set: { status: 'rejected', open_key: null, decided_at: now, updated_at: now },
          });
          await events.emit(
            tx,
            'promotion_request.decided',
            {
              id: row.id,
              model: model.name,
              version: row.version,
              alias: row.alias,
              status: 'rejected',
              by: input.actor.name,
              comment: input.comment ?? null,
            },
            { actor: input.actor.name },
          );
        } else if (executes) {
          await execute(tx, row, model, results, holder, input.actor);
        }
      });
    } catch (err) {
      if (isUniqueViolation(err))
        throw new ConflictError(`${input.actor.name} already decided on request ${row.id}`, { field: 'id' });
      throw err;
    }
    return view((await repo.findRequest({ tx: db, id: row.id }))!);
  }

  /** The requester (or an admin) withdraws a pending request. */
  async function cancel(input: { actor: Actor; id: string }) {
    const row = await getRow(input.id);
    await requirePending(row, 'cancelled');
    if (input.actor.name !== row.requested_by && input.actor.role !== 'admin') {
      throw new ForbiddenError(
        `only ${row.requested_by} (who opened it) or an admin may cancel request ${row.id}`,
      );
    }
    await inTransaction(db, async (tx) => {
      const now = clock.now();
      if (
        !(await repo.transitionRequest({
          tx,
          id: row.id,
          from: 'pending',
          set: { status: 'cancelled', open_key: null, decided_at: now, updated_at: now },
        }))
      )
        throw new InvalidTransitionError('promotion request', 'decided', 'cancelled');
      await audit.append(tx, {
        actor: input.actor.name,
        action: 'promotion_request.cancel',
        entityType: 'promotion_request',
        entityId: row.id,
        before: { status: 'pending' },
        after: { status: 'cancelled' },
      });
    });
    return view((await repo.findRequest({ tx: db, id: row.id }))!);
  }

  /**
   * Moves the alias back to its previous holder. An admin does it at once when the policy allows
   * emergency rollback; otherwise it opens a rollback request under the same policy as a promotion.
   */
  async function rollback(input: {
    actor: Actor;
    model: string;
    alias: string;
    reason?: string | undefined;
  }): Promise<RollbackResult> {
    const alias = parseOrThrow(aliasSchema, input.alias, 'alias');
    const model = await getModelRow(db, input.model);
    const { current, previous } = await aliasService.previousHolder(model, alias);
    const { policy } = await policies.effective(db, model);
    const version = await getVersionRow(db, model, previous);
    if (policy.emergencyRollback === 'admin' && input.actor.role === 'admin') {
      const event = await inTransaction(db, (tx) =>
        aliasService.move(tx, {
          actor: input.actor,
          model,
          alias,
          expected: current,
          to: previous,
          kind: 'rollback',
          reason: input.reason,
          emergency: true,
        }),
      );
      return { outcome: 'rolled_back', event };
    }
    const request = await openFor({
      actor: input.actor,
      model,
      version,
      alias,
      kind: 'rollback',
      reason: input.reason,
    });
    return { outcome: 'requested', request };
  }

  async function get(id: string) {
    return view(await getRow(id));
  }

  async function list(q: {
    model?: string | undefined;
    status?: PromotionStatus | undefined;
    limit?: number | undefined;
  }) {
    const model = q.model === undefined ? undefined : await getModelRow(db, q.model);
    // 'expired' is partly computed: pending rows past their time are expired too.
    const stored = q.status === 'expired' ? undefined : q.status;
    const rows = await repo.listRequests({
      tx: db,
      ...(model ? { modelId: model.id } : {}),
      ...(stored ? { status: stored } : {}),
      limit: q.limit ?? 100,
    });
    const out = await Promise.all(rows.map(view));
    return q.status ? out.filter((r) => r.status === q.status) : out;
  }

  return { open, check, decide, cancel, rollback, get, list };
}

function alreadyOpen(model: RegisteredModelTable, alias: string, id: string) {
  return new ConflictError(
    `a promotion request for '${alias}' of '${model.name}' is already open (${id}); decide or cancel it first`,
    {
      field: 'alias',
      requestId: id,
    },
  );
}

export type PromotionService = ReturnType<typeof createPromotionService>;
