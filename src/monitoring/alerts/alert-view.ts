import type { AlertRow } from './alert.repo.js';
import type { ActionOutcome, Alert, AlertState } from './alert.schema.js';
import type { AlertAction, AlertSeverity } from './alert-rule.schema.js';
import type { AlertEventPayload } from './alerts.events.js';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(Number(ms)));

/** A stored alert as the API shows it. */
export function toAlert(r: AlertRow): Alert {
  const condition = JSON.parse(r.condition) as { op?: string; threshold?: number; status?: string };
  return {
    id: r.id,
    rule: r.rule,
    monitorId: r.monitor_id,
    deploymentId: r.deployment_id,
    modelVersionId: r.model_version_id,
    metric: r.metric,
    feature: r.feature,
    slice: r.slice,
    severity: r.severity as AlertSeverity,
    action: r.action as AlertAction,
    state: r.state as AlertState,
    condition:
      condition.status !== undefined
        ? `status ${condition.status}`
        : `${condition.op} ${condition.threshold}`,
    value: r.value === null ? null : Number(r.value),
    threshold: r.threshold === null ? null : Number(r.threshold),
    windowStart: iso(Number(r.window_start)),
    windowEnd: iso(Number(r.window_end)),
    firedAt: iso(Number(r.fired_at)),
    lastSeenAt: iso(Number(r.last_seen_at)),
    acknowledgedAt: isoOrNull(r.acknowledged_at),
    acknowledgedBy: r.acknowledged_by,
    comment: r.ack_comment,
    resolvedAt: isoOrNull(r.resolved_at),
    actionOutcome: r.action_outcome === null ? null : (JSON.parse(r.action_outcome) as ActionOutcome),
  };
}

function where(a: Alert, deployment: string): string {
  const parts = [`deployment ${deployment}`];
  if (a.feature !== null) parts.push(`feature ${a.feature}`);
  if (a.slice !== null) parts.push(`slice ${a.slice}`);
  return parts.join(', ');
}

/**
 * The payload of alert.fired / alert.resolved. `slack` carries a Slack-compatible `{text, blocks}`
 * when the rule notifies that channel (mrkdwn in a section block, as Slack's incoming webhooks take it).
 */
export function alertEventPayload(
  a: Alert,
  o: { deployment: string; kind: 'fired' | 'resolved'; slack: boolean },
): AlertEventPayload {
  const value = a.value === null ? 'no value' : String(Number(a.value.toPrecision(6)));
  const text =
    o.kind === 'fired'
      ? `[${a.severity}] alert ${a.rule} fired: ${a.metric} = ${value} (${a.condition}) on ${where(a, o.deployment)}; action ${a.action}`
      : `alert ${a.rule} resolved: ${a.metric} = ${value} on ${where(a, o.deployment)}`;
  return {
    alertId: a.id,
    monitorId: a.monitorId,
    deploymentId: a.deploymentId,
    rule: a.rule,
    metric: a.metric,
    feature: a.feature,
    slice: a.slice,
    value: a.value,
    threshold: a.threshold,
    action: a.action,
    severity: a.severity,
    text,
    ...(o.slack
      ? {
          slack: {
            text,
            blocks: [
              {
                type: 'section',
                text: {
                  type: 'mrkdwn',
                  text: `*${o.kind === 'fired' ? 'Alert fired' : 'Alert resolved'}*: ${text}`,
                },
              },
              {
                type: 'context',
                elements: [
                  {
                    type: 'mrkdwn',
                    text: `alert ${a.id} · monitor ${a.monitorId} · window ending ${a.windowEnd}`,
                  },
                ],
              },
            ],
          },
        }
      : {}),
  };
}
