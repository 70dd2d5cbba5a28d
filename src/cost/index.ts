/*
 * Cost: meters (process, in-process, GPU), the versioned price book, attribution (OpenCost-like:
 * allocated = max(requested, used) x price, idle apart) and the report; the ledger budgets read.
 */
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../core/clock.js';
import type { Db } from '../store/index.js';
import { createCostLedger } from './attribution/cost-ledger.js';
import { createCostReportService } from './attribution/cost-report.service.js';
import type { ServedPredictions } from './meters/served-predictions.js';
import { createUsageService } from './meters/usage.service.js';
import { createPriceBookService } from './prices/price-book.service.js';

/** Cents that add up to their sum's cents (largest remainder); the report's rounding rule. */
export { centsAddingUp } from './attribution/allocation.js';
/** The budgets' port onto spending, and the scope it takes. */
export type { CostLedger, CostScope } from './attribution/cost-ledger.js';
export * from './attribution/cost-report.schema.js';
/** Parses an instant of the API or CLI (epoch ms, YYYY-MM-DD, ISO-8601). */
export { parseInstant } from './attribution/cost-report.service.js';
/** The deployment meter: a repeatable job recording serving time per deployment and model version. */
export {
  DEPLOYMENT_METER_EVERY_MS,
  DEPLOYMENT_METER_JOB,
  deploymentMeterJob,
  meterDeployments,
  SERVING_INSTANCE_TYPE,
} from './meters/deployment-meter.js';
/** GPU sampling through nvidia-smi: the sampler, its parsers and its sample rate. */
export {
  GPU_SAMPLE_MS,
  type GpuUsage,
  parseComputeApps,
  parseGpuQuery,
  type SmiExec,
  sampleGpus,
} from './meters/gpu-sampler.js';
/** Meters work running in this process (a job attempt, an in-process training run). */
export { meterInProcess } from './meters/in-process-meter.js';
/** Wraps a job queue so every attempt of every kind records its usage. */
export { meterJobs, type UsageSink } from './meters/job-meter.js';
/** Meters a child process tree from /proc (CPU seconds, peak memory). */
export { meterProcess, type ProcessUsage } from './meters/process-meter.js';
/** The port through which cost counts served predictions. */
export type { ServedPredictions } from './meters/served-predictions.js';
/** The storage meter: a daily job recording each dataset version's, run's and model version's share of stored blobs. */
export {
  meterStorage,
  STORAGE_METER_EVERY_MS,
  STORAGE_METER_JOB,
  sharedBytes,
  storageMeterJob,
} from './meters/storage-meter.js';
export * from './meters/usage.schema.js';
/** Validates a price book (YAML text or a parsed document) with named errors. */
export { parsePriceBookYaml, validatePriceBook } from './prices/price-book.js';
export * from './prices/price-book.schema.js';
/** Prometheus gauges of a period's cost, with bounded label values. */
export { costGaugesText, MAX_COST_SERIES } from './report/prometheus.js';
/** The HTML page of a cost report (self-contained, inline SVG). */
export { renderCostReportHtml } from './report/report-html.js';
/** The text table of a cost report. */
export { renderCostReportText } from './report/report-text.js';

export interface CostDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  /** The prediction log's counts (serving's prediction store). */
  served: ServedPredictions;
}

/** Builds the cost domain: usage records, the price book, reports, and the ledger budgets read. */
export function createCostDomain(deps: CostDeps) {
  const usage = createUsageService(deps);
  const prices = createPriceBookService(deps);
  const reports = createCostReportService({
    db: deps.db,
    clock: deps.clock,
    priceBook: () => prices.current(),
    served: deps.served,
  });
  const ledger = createCostLedger({ db: deps.db, reports });
  return { usage, prices, reports, ledger };
}

export type CostDomain = ReturnType<typeof createCostDomain>;
