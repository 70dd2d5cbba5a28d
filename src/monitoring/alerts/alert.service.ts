import { InvalidTransitionError, NotFoundError } from '../../core/errors.js';
import { parseOrThrow } from '../../core/validate.js';
import { inTransaction } from '../../store/index.js';
import * as repo from './alert.repo.js';
import {
  type AckAlertInput,
  type Alert,
  alertIdSchema,
  type ListAlertsQuery,
  listAlertsQuerySchema,
} from './alert.schema.js';
import type { AlertDeps } from './alert-ports.js';
import { toAlert } from './alert-view.js';

/** Reading and acknowledging alerts (firing and resolving are the engine's). */
export function createAlertService(deps: Pick<AlertDeps, 'db' | 'clock' | 'audit' | 'targets'>) {
  const { db, clock, audit, targets } = deps;

  async function get(id: string): Promise<Alert> {
    const checked = parseOrThrow(alertIdSchema, id, 'id');
    const row = await repo.findAlert({ tx: db, id: checked });
    if (!row) throw new NotFoundError('alert', id);
    return toAlert(row);
  }

  /** Alerts newest first, by state (`open`: firing or acknowledged) and deployment (name or id). */
  async function list(query: ListAlertsQuery = {}): Promise<Alert[]> {
    const q = parseOrThrow(listAlertsQuerySchema, query);
    const deploymentId = q.deployment === undefined ? undefined : await targets.deploymentId(q.deployment);
    const rows = await repo.listAlerts({ tx: db, state: q.state, deploymentId, limit: q.limit });
    return rows.map(toAlert);
  }

  /** firing -> acknowledged: someone is on it; it still resolves by itself when the condition clears. */
  async function acknowledge(input: { actor: string; id: string } & AckAlertInput): Promise<Alert> {
    const current = await get(input.id);
    if (current.state !== 'firing') throw new InvalidTransitionError('alert', current.state, 'acknowledged');
    const now = clock.now();
    await inTransaction(db, async (tx) => {
      const moved = await repo.transitionAlert({
        tx,
        id: current.id,
        from: ['firing'],
        set: {
          state: 'acknowledged',
          acknowledged_at: now,
          acknowledged_by: input.actor,
          ack_comment: input.comment ?? null,
        },
      });
      // Resolved (or acknowledged) by someone else between the read and the write.
      if (!moved) throw new InvalidTransitionError('alert', 'resolved or acknowledged', 'acknowledged');
      await audit.append(tx, {
        actor: input.actor,
        action: 'alert.acknowledge',
        entityType: 'alert',
        entityId: current.id,
        before: { state: 'firing' },
        after: { state: 'acknowledged' },
        ...(input.comment ? { details: { comment: input.comment } } : {}),
      });
    });
    return get(current.id);
  }

  /** Open alerts by severity (the Prometheus gauge). */
  const openBySeverity = () => repo.countOpenBySeverity({ tx: db });

  return { get, list, acknowledge, openBySeverity };
}

export type AlertService = ReturnType<typeof createAlertService>;
