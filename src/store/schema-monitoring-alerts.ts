/*
 * Table types of monitoring alerts (migration 015). One row per alert; `open_key` is set while the
 * alert is open (firing or acknowledged) and unique, so one rule on one series of one deployment has at
 * most one open alert however many runs race. Times are epoch ms; JSON travels as text.
 */

export interface MonitoringAlertTable {
  id: string;
  rule: string;
  monitor_id: string;
  deployment_id: string;
  model_version_id: string;
  metric: string;
  feature: string | null;
  slice: string | null;
  /** monitor|rule|deployment|feature|slice: the series the rule watched (cooldown looks it up). */
  series_key: string;
  /** series_key while open; null once resolved. */
  open_key: string | null;
  severity: string;
  action: string;
  /** JSON: the rule's condition. */
  condition: string;
  state: string;
  value: number | null;
  threshold: number | null;
  window_start: number;
  window_end: number;
  fired_at: number;
  last_seen_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  ack_comment: string | null;
  resolved_at: number | null;
  /** JSON ActionOutcome, once the action ran. */
  action_outcome: string | null;
}

/** Table types of monitoring alerts. */
export interface MonitoringAlertTables {
  monitoring_alerts: MonitoringAlertTable;
}
