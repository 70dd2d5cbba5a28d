import type { AuditLog } from '../../audit/index.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { EventEmitter } from '../../events/index.js';
import type { Db } from '../../store/index.js';
import type { MetricPoint } from '../metric-point.schema.js';
import type { alertEvents } from './alerts.events.js';

/*
 * What alerts need from the floors around them, as ports: the series history (monitors store it), the
 * deployments and model versions (serving, registry) and the registry's rollback. The wiring passes
 * the real ones; a unit test may pass in-memory ones.
 */

/** Earlier points of one series, for rules that need N consecutive windows. */
export interface MetricHistory {
  /** Points of the series with windowEnd <= before, oldest first, at most `limit` (the latest ones). */
  recent(q: {
    monitorId: string;
    metric: string;
    feature: string | null;
    slice: string | null;
    modelVersionId: string;
    before: number;
    limit: number;
    /** The length of the series' windows (ms), so a reader can bound how far back to look. */
    windowMs: number;
  }): Promise<MetricPoint[]>;
}

/** What an action needs to know about a deployment and a model version, and the rollback itself. */
export interface AlertTargets {
  /** A deployment by id (deleted ones too): its name, the model it follows and the ref (alias or pinned version). */
  deployment(id: string): Promise<{ name: string; model: string; ref: string }>;
  /** A deployment's id from its name or id; NotFoundError when there is none. */
  deploymentId(nameOrId: string): Promise<string>;
  /** A model version (by id) of a deployment's model: its model's name and number. */
  modelVersion(deploymentId: string, id: string): Promise<{ model: string; version: number }>;
  /**
   * Rolls an alias back through the registry's rules: done at once when its policy allows an emergency
   * rollback, otherwise a rollback request is opened for approval.
   */
  rollback(input: { model: string; alias: string; reason: string }): Promise<{
    status: 'done' | 'requested';
    message: string;
  }>;
}

export interface AlertDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  events: EventEmitter<typeof alertEvents>;
  logger: Logger;
  history: MetricHistory;
  targets: AlertTargets;
}

/** The name alerts act under in the audit log and the registry. */
export const ALERTS_ACTOR = 'system:alerts';
