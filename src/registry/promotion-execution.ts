import { ConflictError } from '../core/errors.js';
import type { Tx } from '../store/index.js';
import type { PromotionRequestTable, RegisteredModelTable } from '../store/schema-registry.js';
import type { AliasService } from './alias.service.js';
import { allPass } from './gates.js';
import * as repo from './promotion.repo.js';
import type { GateResult } from './registry.schema.js';
import type { Actor, RegistryDeps } from './registry-deps.js';

/** The two ways a pending request ends without a reviewer's rejection: it executes (or blocks), or it expires. */
export function createPromotionExecution({ audit, clock, events }: RegistryDeps, aliasService: AliasService) {
  /** Stores the expiry of a pending request past its time, so its alias can take a new request. */
  async function expire(tx: Tx, row: PromotionRequestTable): Promise<void> {
    const now = clock.now();
    if (
      !(await repo.transitionRequest({
        tx,
        id: row.id,
        from: 'pending',
        set: { status: 'expired', open_key: null, updated_at: now },
      }))
    )
      return;
    await audit.append(tx, {
      actor: 'system',
      action: 'promotion_request.expire',
      entityType: 'promotion_request',
      entityId: row.id,
      before: { status: 'pending' },
      after: { status: 'expired' },
      details: { expiresAt: new Date(row.expires_at).toISOString() },
    });
  }

  /** Executes an approved request: gates again, then the alias moves (or the request is blocked). */
  async function execute(
    tx: Tx,
    row: PromotionRequestTable,
    model: RegisteredModelTable,
    results: GateResult[],
    holder: number | null,
    actor: Actor,
  ): Promise<void> {
    const now = clock.now();
    const ok = allPass(results);
    const status = ok ? 'executed' : 'blocked';
    const moved = await repo.transitionRequest({
      tx,
      id: row.id,
      from: 'pending',
      set: {
        status,
        open_key: null,
        execution_gates: JSON.stringify(results),
        decided_at: now,
        updated_at: now,
        from_version: holder,
      },
    });
    if (!moved)
      throw new ConflictError(`promotion request '${row.id}' was decided by someone else meanwhile`, {
        field: 'id',
      });
    const decisions = await repo.listDecisions({ tx, requestIds: [row.id] });
    const approvals = decisions
      .filter((d) => d.decision === 'approve')
      .map((d) => ({ actor: d.actor, role: d.role, comment: d.comment, at: new Date(d.at).toISOString() }));
    await audit.append(tx, {
      actor: actor.name,
      action: ok ? 'promotion_request.execute' : 'promotion_request.block',
      entityType: 'promotion_request',
      entityId: row.id,
      before: { status: 'pending' },
      after: { status, gates: results },
      details: {
        model: model.name,
        version: row.version,
        alias: row.alias,
        failed: results.filter((r) => r.status !== 'pass').map((r) => r.gate),
      },
    });
    await events.emit(
      tx,
      'promotion_request.decided',
      { id: row.id, model: model.name, version: row.version, alias: row.alias, status, approvals },
      { actor: actor.name },
    );
    if (ok) {
      await aliasService.move(tx, {
        actor,
        model,
        alias: row.alias,
        expected: holder,
        to: row.version,
        kind: row.kind === 'rollback' ? 'rollback' : 'promote',
        reason: row.reason,
        requestId: row.id,
        approvals,
      });
    }
  }

  return { expire, execute };
}
