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
