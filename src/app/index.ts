/*
 * The wiring: every service is built exactly once here, from the shared parts (store, blobs, clock,
 * config, audit key). server/, cli/ and the worker entry all start from this module.
 */

/** The platform's own background jobs: schedule them and work the system queue in this process. */
export {
  EVENTS_DELIVER_JOB,
  PREDICTIONS_SEAL_JOB,
  SYSTEM_QUEUE,
  scheduleBackgroundJobs,
  startBackgroundWork,
} from './background.js';
/** Builds every domain service from the shared parts (`createServices({ store, blobs, clock, config, auditKey })`). */
/** Opens the database, blob store and audit key a Config names and wires the services on them. */
/** Every domain's event definitions (the catalogue). */
export {
  createServices,
  eventDefinitions,
  openWorkspace,
  type Services,
  type ServicesDeps,
  type Workspace,
} from './services.js';
