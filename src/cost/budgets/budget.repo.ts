import type { Selectable, Updateable } from 'kysely';
import type { Executor } from '../../store/index.js';
import type { BudgetTable } from '../../store/schema-budgets.js';

export type BudgetRow = Selectable<BudgetTable>;

export async function insertBudget({ tx, values }: { tx: Executor; values: BudgetTable }): Promise<void> {
  await tx.insertInto('budgets').values(values).execute();
}

export async function findBudget({ tx, id }: { tx: Executor; id: string }): Promise<BudgetRow | undefined> {
  return tx
    .selectFrom('budgets')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export async function findBudgetByName({ tx, name }: { tx: Executor; name: string }) {
  return tx
    .selectFrom('budgets')
    .selectAll()
    .where('name', '=', name)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** Live budgets, oldest first (few: one per team or experiment that has one). */
export async function listBudgets({ tx }: { tx: Executor }): Promise<BudgetRow[]> {
  return tx.selectFrom('budgets').selectAll().where('deleted_at', 'is', null).orderBy('id').execute();
}

/** Live budgets marked exhausted in some period (admission then checks that it is the current one). */
export async function listExhausted({ tx }: { tx: Executor }): Promise<BudgetRow[]> {
  return tx
    .selectFrom('budgets')
    .selectAll()
    .where('deleted_at', 'is', null)
    .where('exhausted_period', 'is not', null)
    .execute();
}

export async function updateBudget({
  tx,
  id,
  set,
}: {
  tx: Executor;
  id: string;
  set: Updateable<BudgetTable>;
}): Promise<void> {
  await tx.updateTable('budgets').set(set).where('id', '=', id).execute();
}

/**
 * Whether any run carries the tag key=value: a tag or team budget on a tag no run has is most likely
 * a typo. Read here, on tracking's table, because tracking has no cross-experiment lookup by tag.
 */
export async function anyRunTagged({ tx, key, value }: { tx: Executor; key: string; value: string }) {
  const row = await tx
    .selectFrom('run_tags')
    .select('run_id')
    .where('key', '=', key)
    .where('value', '=', value)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
