import type { Selectable } from 'kysely';
import type { Executor } from '../../store/index.js';
import type { MonitoringAlertTable } from '../../store/schema-monitoring-alerts.js';

export type AlertRow = Selectable<MonitoringAlertTable>;

export async function insertAlert({ tx, row }: { tx: Executor; row: MonitoringAlertTable }) {
  await tx.insertInto('monitoring_alerts').values(row).execute();
}

export async function findAlert({ tx, id }: { tx: Executor; id: string }): Promise<AlertRow | undefined> {
  return tx.selectFrom('monitoring_alerts').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The open alert (firing or acknowledged) of a rule's series, if any. */
export async function findOpenAlert({
  tx,
  key,
}: {
  tx: Executor;
  key: string;
}): Promise<AlertRow | undefined> {
  return tx.selectFrom('monitoring_alerts').selectAll().where('open_key', '=', key).executeTakeFirst();
}

/** When the series' latest alert resolved (cooldown starts there); undefined if none ever did. */
export async function lastResolvedAt({
  tx,
  key,
}: {
  tx: Executor;
  key: string;
}): Promise<number | undefined> {
  const r = await tx
    .selectFrom('monitoring_alerts')
    .select((eb) => eb.fn.max('resolved_at').as('at'))
    .where('series_key', '=', key)
    .where('resolved_at', 'is not', null)
    .executeTakeFirst();
  return r?.at == null ? undefined : Number(r.at);
}

/** Open alerts of a monitor (the ones a run may resolve). */
export async function listOpenAlertsOfMonitor({ tx, monitorId }: { tx: Executor; monitorId: string }) {
  return tx
    .selectFrom('monitoring_alerts')
    .selectAll()
    .where('monitor_id', '=', monitorId)
    .where('open_key', 'is not', null)
    .execute();
}

export async function listAlerts({
  tx,
  state,
  deploymentId,
  limit,
}: {
  tx: Executor;
  state?: 'firing' | 'acknowledged' | 'resolved' | 'open' | undefined;
  deploymentId?: string | undefined;
  limit: number;
}): Promise<AlertRow[]> {
  let q = tx.selectFrom('monitoring_alerts').selectAll();
  if (state === 'open') q = q.where('open_key', 'is not', null);
  else if (state) q = q.where('state', '=', state);
  if (deploymentId) q = q.where('deployment_id', '=', deploymentId);
  return q.orderBy('fired_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
}

/** Open alerts counted by severity (the Prometheus gauge). */
export async function countOpenBySeverity({ tx }: { tx: Executor }) {
  const rows = await tx
    .selectFrom('monitoring_alerts')
    .select(['severity', (eb) => eb.fn.countAll().as('n')])
    .where('open_key', 'is not', null)
    .groupBy('severity')
    .execute();
  return rows.map((r) => ({ severity: r.severity, count: Number(r.n) }));
}

/** Seen again while open: the latest value and window. */
export async function touchAlert({
  tx,
  id,
  at,
  value,
  windowStart,
  windowEnd,
}: {
  tx: Executor;
  id: string;
  at: number;
  value: number | null;
  windowStart: number;
  windowEnd: number;
}) {
  await tx
    .updateTable('monitoring_alerts')
    .set({ last_seen_at: at, value, window_start: windowStart, window_end: windowEnd })
    .where('id', '=', id)
    .execute();
}

/** Compare-and-set on state: false when another process moved the alert first. */
export async function transitionAlert({
  tx,
  id,
  from,
  set,
}: {
  tx: Executor;
  id: string;
  from: readonly string[];
  set: Partial<MonitoringAlertTable>;
}): Promise<boolean> {
  const r = await tx
    .updateTable('monitoring_alerts')
    .set(set)
    .where('id', '=', id)
    .where('state', 'in', [...from])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function setActionOutcome({ tx, id, outcome }: { tx: Executor; id: string; outcome: string }) {
  await tx.updateTable('monitoring_alerts').set({ action_outcome: outcome }).where('id', '=', id).execute();
}
