import { z } from 'zod';
import { defineEvent, type EventEmitter } from '../events/index.js';

/* The events monitoring emits, each in the transaction that stores what it reports. */

export const monitorRunCompleted = defineEvent({
  type: 'monitor.run.completed',
  emittedBy: 'monitoring',
  description: 'A monitor run stored its metric points for one window (alerts evaluate their rules on them).',
  schema: z.object({
    monitorId: z.string(),
    deploymentId: z.string(),
    runId: z.string(),
    points: z.number().int().nonnegative(),
    alerts: z.number().int().nonnegative().optional(),
  }),
});

/** Every event monitoring emits. */
export const monitoringEvents = [monitorRunCompleted] as const;

/** The port monitoring emits through (the event bus), typed by its own events. */
export type MonitoringEvents = EventEmitter<typeof monitoringEvents>;
