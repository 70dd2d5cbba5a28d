import { createExplainer } from './explain/index.js';
import { createGarbageCollector } from './gc.service.js';
import type { GovernanceDeps } from './governance-deps.js';
import { createLineageService } from './lineage.service.js';
import { createOpenLineageExporter } from './openlineage.service.js';
import { createPredictionTracer } from './trace/index.js';

/** The compliance report: its contract, builder and HTML renderer. */
export {
  attributeList,
  type ComplianceDeps,
  type ComplianceReport,
  type ComplianceReporter,
  type ComplianceReportInput,
  complianceReportInputSchema,
  complianceReportQuerySchema,
  complianceReportSchema,
  createComplianceReporter,
  DEFAULT_SAMPLES,
  type OfflineEvaluation,
  renderComplianceHtml,
} from './compliance/index.js';
export * from './explain/explanation.schema.js';
export * from './gc.schema.js';
/** Blob garbage collection: dry run, audited delete, grace period. */
export { createGarbageCollector, digestOfKeys, type GarbageCollector } from './gc.service.js';
export type {
  DatasetVersionSource,
  GovernanceDeps,
  ModelVersionSource,
  PredictionReader,
  RegistryReader,
  Scorer,
  ScorerFactory,
} from './governance-deps.js';
export * from './lineage.schema.js';
/** The lineage graph around a dataset version, run or model version. */
export { createLineageService, type LineageService } from './lineage.service.js';
/** Renders a lineage graph as an indented text tree, Mermaid or Graphviz DOT. */
export {
  formatLineage,
  formatLineageDot,
  formatLineageMermaid,
  formatLineageText,
  type LineageFormat,
} from './lineage-format.js';
export * from './openlineage.schema.js';
/** Exports a run as OpenLineage RunEvents. */
export {
  createOpenLineageExporter,
  DEFAULT_OPENLINEAGE_NAMESPACE,
  type OpenLineageExporter,
} from './openlineage.service.js';
/** The deterministic UUID (v5) a run id is exported under, and the producer URI written in events. */
export { runUuid, SEXTANT_PRODUCER } from './openlineage-event.js';
export * from './trace/trace.schema.js';
/** The human (indented text) view of a prediction trace. */
export { formatTrace } from './trace/trace-format.js';

/** Builds governance: lineage graph, OpenLineage export, blob gc, prediction trace and explanations. */
export function createGovernanceDomain(deps: GovernanceDeps) {
  return {
    lineage: createLineageService(deps),
    openLineage: createOpenLineageExporter(deps),
    gc: createGarbageCollector(deps),
    trace: createPredictionTracer(deps),
    explain: createExplainer(deps),
  };
}

export type GovernanceDomain = ReturnType<typeof createGovernanceDomain>;
