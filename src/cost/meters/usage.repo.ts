import type { Executor } from '../../store/index.js';
import type { CostUsageTable } from '../../store/schema-cost.js';

export type UsageRow = CostUsageTable;

/** Inserts usage rows in batches (a parameter limit per statement holds on both dialects). */
export async function insertUsage({ tx, rows }: { tx: Executor; rows: UsageRow[] }): Promise<void> {
  const BATCH = 500;
  for (let i = 0; i < rows.length; i += BATCH)
    await tx
      .insertInto('cost_usage')
      .values(rows.slice(i, i + BATCH))
      .execute();
}

/** Usage of one run, oldest first. */
export function listUsageOfRun({ tx, runId }: { tx: Executor; runId: string }): Promise<UsageRow[]> {
  return tx.selectFrom('cost_usage').selectAll().where('run_id', '=', runId).orderBy('started_at').execute();
}

/** The latest end of a deployment's recorded usage (where the next deployment meter interval starts). */
export async function lastDeploymentUsageEnd({
  tx,
  deploymentId,
}: {
  tx: Executor;
  deploymentId: string;
}): Promise<number | undefined> {
  const row = await tx
    .selectFrom('cost_usage')
    .select((eb) => eb.fn.max('ended_at').as('end'))
    .where('deployment_id', '=', deploymentId)
    .where('kind', '=', 'deployment')
    .executeTakeFirst();
  return row?.end === null || row?.end === undefined ? undefined : Number(row.end);
}
