import type { Executor } from '../../store/index.js';

/** Serving processes (deployment runtimes) alive at or after `since`: their heartbeats bound uptime. */
export function runtimesSince({ tx, since }: { tx: Executor; since: number }) {
  return tx
    .selectFrom('deployment_runtimes')
    .select(['id', 'deployment_id', 'host', 'started_at', 'beat_at', 'stopped_at'])
    .where((eb) => eb.or([eb('stopped_at', 'is', null), eb('stopped_at', '>', since)]))
    .where('beat_at', '>', since)
    .execute();
}

/** Predictions a deployment served in [from, to), per answering model version. */
export async function predictionsByVersion({
  tx,
  deploymentId,
  from,
  to,
}: {
  tx: Executor;
  deploymentId: string;
  from: number;
  to: number;
}): Promise<{ versionId: string; n: number }[]> {
  const rows = await tx
    .selectFrom('predictions')
    .select((eb) => ['model_version_id', eb.fn.countAll<number>().as('n')])
    .where('deployment_id', '=', deploymentId)
    .where('served_at', '>=', from)
    .where('served_at', '<', to)
    .groupBy('model_version_id')
    .orderBy('model_version_id')
    .execute();
  return rows.map((r) => ({ versionId: r.model_version_id, n: Number(r.n) }));
}
