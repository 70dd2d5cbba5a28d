import type { AuditLog } from '../../audit/index.js';
import type { Clock } from '../../core/clock.js';
import { AlreadyExistsError, AppError, NotFoundError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { parseOrThrow } from '../../core/validate.js';
import { type Db, inTransaction } from '../../store/index.js';
import type { ExperimentService } from '../../tracking/index.js';
import * as repo from './budget.repo.js';
import {
  type Budget,
  type BudgetCreated,
  budgetIdSchema,
  type CreateBudgetInput,
  createBudgetSchema,
  type UpdateBudgetInput,
  updateBudgetSchema,
} from './budget.schema.js';
import { toBudget } from './budget-view.js';

/*
 * Budgets as records: create (the scope must exist), list, show, raise or lower, remove (soft).
 * Checking spend against them is budget-check.ts; refusing and holding work is budget-admission.ts.
 */

export interface BudgetRecordsDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  experiments: Pick<ExperimentService, 'get'>;
  /** Re-checks one budget right after a change, so a raise frees held work without waiting for the job. */
  recheck: (id: string) => Promise<unknown>;
}

/** Splits a tag scope 'key=value' at its first '='. */
export function splitTag(value: string): { key: string; value: string } {
  const at = value.indexOf('=');
  return { key: value.slice(0, at), value: value.slice(at + 1) };
}

export function createBudgetRecords(deps: BudgetRecordsDeps) {
  const { db, audit, clock } = deps;

  /**
   * The scope must name something: an experiment that exists; a tag or team (the run tag team=<name>)
   * that at least one run carries, unless allowUnknownScope, which creates it with a warning.
   */
  async function checkScope(input: ReturnType<typeof createBudgetSchema.parse>): Promise<string[]> {
    const { kind, value } = input.scope;
    if (kind === 'experiment') {
      await deps.experiments.get(value).catch((err: unknown) => {
        throw err instanceof NotFoundError || (err as { code?: string }).code === 'VALIDATION_FAILED'
          ? new NotFoundError('experiment', value)
          : err;
      });
      return [];
    }
    const tag = kind === 'team' ? { key: 'team', value } : splitTag(value);
    if (await repo.anyRunTagged({ tx: db, key: tag.key, value: tag.value })) return [];
    const what = `no run carries the tag ${tag.key}=${tag.value}`;
    if (!input.allowUnknownScope) {
      const entity = kind === 'team' ? 'team' : 'run tag';
      const id = kind === 'team' ? value : `${tag.key}=${tag.value}`;
      throw new AppError(
        'NOT_FOUND',
        `${entity} '${id}' does not exist: ${what} (allowUnknownScope / --allow-unknown-scope creates the budget anyway)`,
        { entity, id, field: 'scope.value' },
      );
    }
    return [`${what} yet: the budget counts its spend from the first run that does`];
  }

  async function create(input: { actor: string } & CreateBudgetInput): Promise<BudgetCreated> {
    const { actor, ...rest } = input;
    const b = parseOrThrow(createBudgetSchema, rest, 'body');
    const warnings = await checkScope(b);
    const now = clock.now();
    const id = newId('bud', now);
    await inTransaction(db, async (tx) => {
      if (await repo.findBudgetByName({ tx, name: b.name })) throw new AlreadyExistsError('budget', b.name);
      await repo.insertBudget({
        tx,
        values: {
          id,
          name: b.name,
          scope_kind: b.scope.kind,
          scope_value: b.scope.value,
          period: b.period,
          period_start: b.from ? Date.parse(b.from) : null,
          period_end: b.to ? Date.parse(b.to) : null,
          amount: b.amount,
          currency: b.currency,
          soft_share: b.softShare,
          created_by: actor,
          created_at: now,
          updated_at: now,
          deleted_at: null,
          soft_notified_period: null,
          exhausted_period: null,
          last_spent: null,
          last_forecast: null,
          last_checked_at: null,
        },
      });
      await audit.append(tx, {
        actor,
        action: 'budget.create',
        entityType: 'budget',
        entityId: id,
        after: { name: b.name, scope: b.scope, period: b.period, amount: b.amount, currency: b.currency },
        details: { softShare: b.softShare, ...(warnings.length ? { warnings } : {}) },
      });
    });
    return { budget: await get(id), warnings };
  }

  /** A budget by id or name. */
  async function getRow(ref: string): Promise<repo.BudgetRow> {
    const row = budgetIdSchema.safeParse(ref).success
      ? await repo.findBudget({ tx: db, id: ref })
      : await repo.findBudgetByName({ tx: db, name: ref });
    if (!row) throw new NotFoundError('budget', ref);
    return row;
  }

  async function get(ref: string): Promise<Budget> {
    return toBudget(await getRow(ref), clock.now());
  }

  async function list(): Promise<Budget[]> {
    const now = clock.now();
    return (await repo.listBudgets({ tx: db })).map((r) => toBudget(r, now));
  }

  /** Changes the amount or soft share (audited), then re-checks: a raise frees held work. */
  async function update(input: { actor: string; ref: string } & UpdateBudgetInput): Promise<Budget> {
    const { actor, ref, ...rest } = input;
    const u = parseOrThrow(updateBudgetSchema, rest, 'body');
    const before = await getRow(ref);
    await inTransaction(db, async (tx) => {
      await repo.updateBudget({
        tx,
        id: before.id,
        set: {
          ...(u.amount !== undefined ? { amount: u.amount } : {}),
          ...(u.softShare !== undefined ? { soft_share: u.softShare } : {}),
          updated_at: clock.now(),
        },
      });
      await audit.append(tx, {
        actor,
        action: 'budget.update',
        entityType: 'budget',
        entityId: before.id,
        before: { amount: Number(before.amount), softShare: Number(before.soft_share) },
        after: {
          amount: u.amount ?? Number(before.amount),
          softShare: u.softShare ?? Number(before.soft_share),
        },
      });
    });
    await deps.recheck(before.id);
    return get(before.id);
  }

  /** Soft-deletes (audited): the budget refuses and holds nothing from now on. */
  async function remove(input: { actor: string; ref: string }): Promise<void> {
    const row = await getRow(input.ref);
    await inTransaction(db, async (tx) => {
      await repo.updateBudget({ tx, id: row.id, set: { deleted_at: clock.now(), updated_at: clock.now() } });
      await audit.append(tx, {
        actor: input.actor,
        action: 'budget.delete',
        entityType: 'budget',
        entityId: row.id,
        before: { name: row.name, amount: Number(row.amount) },
      });
    });
  }

  return { create, get, getRow, list, update, remove };
}

export type BudgetRecords = ReturnType<typeof createBudgetRecords>;
