/** Builds the compliance report of a model version from the services below governance. */
export { type ComplianceReporter, createComplianceReporter, DEFAULT_SAMPLES } from './compliance.service.js';
export type { ComplianceDeps, PredictionWindow } from './compliance-deps.js';
/** The compliance report as one self-contained, printable HTML document (and the escaping it uses). */
export { renderComplianceHtml } from './compliance-html.js';
export { escapeHtml } from './compliance-html-parts.js';
export * from './compliance-report.schema.js';
