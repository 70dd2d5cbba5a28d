import type { Selectable } from 'kysely';
import type { Executor } from '../../store/index.js';
import type { ReaperActionTable } from '../../store/schema-budgets.js';

export type ReaperActionRow = Selectable<ReaperActionTable>;

export async function insertAction({ tx, values }: { tx: Executor; values: ReaperActionTable }) {
  await tx.insertInto('reaper_actions').values(values).execute();
}

/** Actions in [from, to), oldest first; plus the last one before `from` per target (an unload still running). */
export async function listActions({ tx, from, to }: { tx: Executor; from: number; to: number }) {
  return tx
    .selectFrom('reaper_actions')
    .selectAll()
    .where('at', '>=', from)
    .where('at', '<', to)
    .orderBy('at')
    .orderBy('id')
    .execute();
}
