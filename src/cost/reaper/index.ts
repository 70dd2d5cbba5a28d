/*
 * The idle reaper (issue 14, item 5): deployments with no traffic unload their model and wake on the
 * next request, workers with no job exit, GPU jobs that idle on their GPU are flagged or stopped; each
 * act is recorded and audited, and the savings report adds up the instance-hours not run. Plus the
 * queue and worker gauges an autoscaler scales workers on.
 */

/** Queue depth and worker busy share as Prometheus gauges, for KEDA or an HPA. */
export { type AutoscalerMetrics, createAutoscalerMetrics } from './autoscaler-metrics.js';
/** The GPU idle watch and the utilisation port it reads (C1's sampler implements it). */
export { createGpuIdleWatch, type GpuUtilisation } from './gpu-idle.js';
/** `sextant worker --idle-exit`: ends a worker that has run no job for a while. */
export { exitWhenIdle, type IdleExitOptions } from './idle-exit.js';
/** The API contracts: one recorded action, the savings report. */
export * from './reaper.schema.js';
/** The reaper's records (audited) and its savings report. */
export { createReaper, type Reaper, type ReaperDeps } from './reaper.service.js';
/** The policy (YAML at <SEXTANT_HOME>/reaper.yaml) and its defaults. */
export {
  DEFAULT_REAPER_POLICY,
  loadReaperPolicy,
  parseReaperPolicy,
  type ReaperPolicy,
  reaperPolicySchema,
} from './reaper-policy.js';
