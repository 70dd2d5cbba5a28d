import type { AuditLog } from '../../audit/index.js';
import { type Clock, toIso } from '../../core/clock.js';
import { type Db, inTransaction } from '../../store/index.js';
import type { ExperimentService } from '../../tracking/index.js';
import * as repo from './budget.repo.js';
import type { BudgetCheck, BudgetScopeKind } from './budget.schema.js';
import { linearForecast } from './budget-period.js';
import { windowOf } from './budget-view.js';
import type { BudgetEvents } from './budgets.events.js';
import type { CostLedger, CostScope } from './cost-ledger.js';

/*
 * Checking spend against budgets (the `cost.budgets` job, and right after a budget changes). Each
 * limit fires once per period: the soft event when spend first reaches softShare * amount, the hard
 * event (and the exhausted mark) when it first reaches amount. The marks carry the period's start, so
 * a new period starts clean without anyone resetting them, and an event's idempotency key carries it
 * too, so two checks racing in two processes emit one event.
 */

export interface BudgetCheckDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  events: BudgetEvents;
  ledger: CostLedger;
  experiments: Pick<ExperimentService, 'get'>;
}

export function createBudgetChecker(deps: BudgetCheckDeps) {
  const { db, audit, clock, events, ledger } = deps;

  /** The ledger's scope: it knows experiments by name (read now, so a rename is followed). */
  async function ledgerScope(row: repo.BudgetRow): Promise<CostScope> {
    const kind = row.scope_kind as BudgetScopeKind;
    if (kind !== 'experiment') return { kind, value: row.scope_value };
    return { kind, value: (await deps.experiments.get(row.scope_value)).name };
  }

  async function checkRow(row: repo.BudgetRow): Promise<BudgetCheck> {
    const now = clock.now();
    const amount = Number(row.amount);
    const base = { budgetId: row.id, name: row.name, limit: amount, currency: row.currency };
    const w = windowOf(row, now);
    if (!w) return { ...base, status: 'inactive', spent: null, forecast: null, emitted: [] };
    const scope = { kind: row.scope_kind as BudgetScopeKind, value: row.scope_value };
    const spend = await ledger.spent({ scope: await ledgerScope(row), from: w.start, to: now });
    if (spend.usageRows > 0 && spend.currency !== row.currency)
      return { ...base, status: 'currency_mismatch', spent: null, forecast: null, emitted: [] };
    const spent = spend.amount;
    const forecast = linearForecast(spent, w, now);
    const soft = amount * Number(row.soft_share);
    const period = { periodStart: toIso(w.start), periodEnd: toIso(w.end) };
    const payload = (limit: number) => ({
      budgetId: row.id,
      scope,
      spent,
      limit,
      currency: row.currency,
      ...period,
    });
    const emitted: string[] = [];
    await inTransaction(db, async (tx) => {
      // Re-read in the transaction: another process may have marked the period meanwhile.
      const current = (await repo.findBudget({ tx, id: row.id })) ?? row;
      const softDone =
        current.soft_notified_period !== null && Number(current.soft_notified_period) === w.start;
      const hardDone = current.exhausted_period !== null && Number(current.exhausted_period) === w.start;
      const set: Parameters<typeof repo.updateBudget>[0]['set'] = {
        last_spent: spent,
        last_forecast: forecast,
        last_checked_at: now,
      };
      if (spent >= soft && !softDone) {
        set.soft_notified_period = w.start;
        await events.emit(tx, 'budget.soft_limit_reached', payload(soft), {
          key: `${row.id}:soft:${w.start}`,
          actor: 'system',
        });
        await audit.append(tx, {
          actor: 'system',
          action: 'budget.soft_limit_reached',
          entityType: 'budget',
          entityId: row.id,
          details: { spent, limit: soft, currency: row.currency, ...period },
        });
        emitted.push('budget.soft_limit_reached');
      }
      if (spent >= amount && !hardDone) {
        set.exhausted_period = w.start;
        await events.emit(tx, 'budget.hard_limit_reached', payload(amount), {
          key: `${row.id}:hard:${w.start}`,
          actor: 'system',
        });
        await audit.append(tx, {
          actor: 'system',
          action: 'budget.exhausted',
          entityType: 'budget',
          entityId: row.id,
          details: { spent, limit: amount, currency: row.currency, ...period },
        });
        emitted.push('budget.hard_limit_reached');
      } else if (spent < amount && hardDone) {
        // Raised above the spend: held work goes on (the hard event stays spent for this period).
        set.exhausted_period = null;
        await audit.append(tx, {
          actor: 'system',
          action: 'budget.released',
          entityType: 'budget',
          entityId: row.id,
          details: { spent, limit: amount, currency: row.currency, ...period },
        });
      }
      await repo.updateBudget({ tx, id: row.id, set });
    });
    const exhausted = spent >= amount;
    return {
      ...base,
      status: exhausted ? 'exhausted' : spent >= soft ? 'soft' : 'ok',
      spent,
      forecast,
      emitted,
    };
  }

  return {
    /** Checks one budget now. */
    async checkOne(id: string): Promise<BudgetCheck | undefined> {
      const row = await repo.findBudget({ tx: db, id });
      return row ? checkRow(row) : undefined;
    },
    /** Checks every live budget; one that fails (the ledger unavailable) does not stop the others. */
    async checkAll(): Promise<{ checks: BudgetCheck[]; failed: { budgetId: string; error: string }[] }> {
      const checks: BudgetCheck[] = [];
      const failed: { budgetId: string; error: string }[] = [];
      for (const row of await repo.listBudgets({ tx: db })) {
        try {
          checks.push(await checkRow(row));
        } catch (err) {
          failed.push({ budgetId: row.id, error: String((err as Error)?.message ?? err) });
        }
      }
      return { checks, failed };
    },
  };
}

export type BudgetChecker = ReturnType<typeof createBudgetChecker>;
