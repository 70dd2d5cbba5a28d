/** Monitoring alerts: rules over monitor metrics, an engine that fires / resolves them, acknowledgement. */

import type { MetricPoint } from '../metric-point.schema.js';
import { createAlertService } from './alert.service.js';
import { createAlertEngine, type MonitorRef } from './alert-engine.js';
import type { AlertDeps } from './alert-ports.js';

/** Alerts as the API shows them, list / ack inputs, an evaluation's outcome. */
export * from './alert.schema.js';
/** The condition in words, and whether a point holds it (pure; the report uses them too). */
export { conditionHolds, describeCondition } from './alert-condition.js';
/** What evaluateRun needs of a monitor. */
export type { MonitorRef } from './alert-engine.js';
/** The ports alerts are built on (series history, deployments, rollback) and the actor they act as. */
export {
  ALERTS_ACTOR,
  type AlertDeps,
  type AlertTargets,
  type MetricHistory,
} from './alert-ports.js';
/** The alert rule schema a monitor's `alerts:` list is parsed with (strict; errors name the field). */
export * from './alert-rule.schema.js';
/** alert.fired, alert.resolved, model.retrain_requested. */
export * from './alerts.events.js';

/** Builds alerts: `evaluateRun(monitor, points)` for the monitor run, and list / get / acknowledge. */
export function createAlertsDomain(deps: AlertDeps) {
  const engine = createAlertEngine(deps);
  const service = createAlertService(deps);
  return {
    /** Judges one run's points against the monitor's rules: fires, dedupes, cools down, resolves, acts. */
    evaluateRun: (monitor: MonitorRef, points: readonly MetricPoint[]) => engine.evaluateRun(monitor, points),
    ...service,
  };
}

/** The alerts domain as the wiring builds it. */
export type AlertsDomain = ReturnType<typeof createAlertsDomain>;
