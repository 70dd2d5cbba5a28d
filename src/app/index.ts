/*
 * The wiring: every service is built exactly once here, from the shared parts (store, blobs, clock,
 * config, audit key). server/, cli/ and the worker entry all start from this module.
 */

/** The platform's own background jobs: schedule them and work the system queue in this process. */
export {
  EVENTS_DELIVER_JOB,
  PREDICTIONS_SEAL_JOB,
  PRUNE_JOB,
  SYSTEM_QUEUE,
  scheduleBackgroundJobs,
  startBackgroundWork,
} from './background.js';
/** The lower floors alone (audit, auth, data, tracking): what a light CLI command builds. */
/** Opens a workspace with the core services only; the CLI imports this module directly, not through here. */
export {
  type CoreServices,
  type CoreWorkspace,
  createCoreServices,
  openCoreWorkspace,
} from './core-services.js';
/** Registers an external model server as a model version (dataset ref resolved, server probed, version recorded). */
export { registerEndpointVersion } from './register-endpoint.js';
/** Builds every domain service from the shared parts (`createServices({ store, blobs, clock, config, auditKey })`). */
/** Opens the database, blob store and audit key a Config names and wires the services on them. */
/** Every domain's event definitions (the catalogue). */
/** Builds the floors above already built core services; completes an open core workspace. */
export {
  completeWorkspace,
  createServices,
  eventDefinitions,
  extendServices,
  openWorkspace,
  type Services,
  type ServicesDeps,
  type Workspace,
} from './services.js';
/** Sweep trials as `sweep.trial` jobs: the job kind and the runner a sweep on a workspace uses. */
export { jobTrialRunner, SWEEP_TRIAL_JOB, sweepTrialJob } from './sweep-trials.js';
