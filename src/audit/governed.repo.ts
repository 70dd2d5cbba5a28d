import type { Executor } from '../store/index.js';
import type { GovernedTable } from './governed-rows.js';

/* Reads for `audit verify --deep`: the entries that recorded governed rows, and the governed tables. */

const PAGE = 2000;

/** Entries whose details record governed rows, in sequence order, a page at a time. */
export async function listGovernedEntries({
  tx,
  afterSeq,
  upTo,
}: {
  tx: Executor;
  afterSeq: number;
  upTo: number;
}): Promise<{ seq: number; details: string | null }[]> {
  return tx
    .selectFrom('audit_entries')
    .select(['seq', 'details'])
    .where('seq', '>', afterSeq)
    .where('seq', '<=', upTo)
    .where('details', 'like', '%"governed":%')
    .orderBy('seq')
    .limit(PAGE)
    .execute();
}

/** Every row of a governed table (these tables hold people, tokens and registry state: thousands, not millions). */
export async function listGovernedTable(
  tx: Executor,
  table: GovernedTable,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  if (table === 'model_aliases') {
    return tx
      .selectFrom('model_aliases')
      .selectAll()
      .orderBy('model_id')
      .orderBy('alias')
      .execute() as Promise<Record<string, unknown>[]>;
  }
  for (let after = ''; ; ) {
    const page = (await tx
      .selectFrom(table)
      .selectAll()
      .where('id', '>', after)
      .orderBy('id')
      .limit(PAGE)
      .execute()) as (Record<string, unknown> & { id: string })[];
    out.push(...page);
    if (page.length < PAGE) return out;
    after = page[page.length - 1]!.id;
  }
}
