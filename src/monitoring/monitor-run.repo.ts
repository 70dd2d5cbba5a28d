import type { Executor } from '../store/index.js';
import type { MonitorRunTable } from '../store/schema-monitoring.js';

/* Monitor runs: the only SQL of them. */

export async function insertRun({ tx, row }: { tx: Executor; row: MonitorRunTable }): Promise<void> {
  await tx.insertInto('monitor_runs').values(row).execute();
}

export async function finishRun({
  tx,
  id,
  status,
  rows,
  points,
  error,
  at,
}: {
  tx: Executor;
  id: string;
  status: 'completed' | 'failed';
  rows: number;
  points: number;
  error: string | null;
  at: number;
}): Promise<void> {
  await tx
    .updateTable('monitor_runs')
    .set({ status, rows, points, error, finished_at: at })
    .where('id', '=', id)
    .execute();
}

export async function findRun({ tx, id }: { tx: Executor; id: string }) {
  return tx.selectFrom('monitor_runs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A monitor's runs, newest window first. */
export async function listRuns({ tx, monitorId, limit }: { tx: Executor; monitorId: string; limit: number }) {
  return tx
    .selectFrom('monitor_runs')
    .selectAll()
    .where('monitor_id', '=', monitorId)
    .orderBy('window_end', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** The latest completed run's window end: where the next scheduled window starts. */
export async function lastCompletedEnd({
  tx,
  monitorId,
}: {
  tx: Executor;
  monitorId: string;
}): Promise<number | undefined> {
  const row = await tx
    .selectFrom('monitor_runs')
    .select('window_end')
    .where('monitor_id', '=', monitorId)
    .where('status', '=', 'completed')
    .orderBy('window_end', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? Number(row.window_end) : undefined;
}
