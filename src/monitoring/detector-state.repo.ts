import type { Executor } from '../store/index.js';
import type { MonitorDetectorStateTable } from '../store/schema-monitoring.js';

/* Stored concept-drift detector states: the only SQL of them. */

/** The states of one (monitor, model version), by detector. */
export async function listStates({
  tx,
  monitorId,
  modelVersionId,
}: {
  tx: Executor;
  monitorId: string;
  modelVersionId: string;
}): Promise<MonitorDetectorStateTable[]> {
  return tx
    .selectFrom('monitor_detector_states')
    .selectAll()
    .where('monitor_id', '=', monitorId)
    .where('model_version_id', '=', modelVersionId)
    .execute();
}

/** Writes a detector's state after a run (replacing the one it resumed from). */
export async function saveState({
  tx,
  row,
}: {
  tx: Executor;
  row: MonitorDetectorStateTable;
}): Promise<void> {
  await tx
    .insertInto('monitor_detector_states')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['monitor_id', 'model_version_id', 'detector']).doUpdateSet({
        state: row.state,
        rows_seen: row.rows_seen,
        window_end: row.window_end,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}
