import { z } from 'zod';
import { auditVerifyResultSchema } from '../../audit/audit.schema.js';
import {
  aliasEventSchema,
  cardFieldsSchema,
  environmentSchema,
  gateResultSchema,
  isoTimeSchema,
  promotionRequestSchema,
} from '../../registry/registry.schema.js';
import { explanationSchema } from '../explain/explanation.schema.js';
import {
  traceDatasetSchema,
  traceGapSchema,
  traceRunSchema,
  traceSignatureSchema,
} from '../trace/trace.schema.js';

/*
 * The compliance report of one model version: everything an auditor asks about, gathered once from
 * the registry, data, tracking, serving, monitoring and the audit chain, so it can be rendered
 * (HTML, then PDF through headless Chromium) and read without Sextant. Every section is present even
 * when empty: an auditor must see "nothing here" rather than wonder whether it was left out. The
 * audit head digest lets the document be checked against the live chain later.
 */

export const complianceModelSchema = z.object({
  /** The ref as asked for (`credit@champion`) and the version it named when the report was made. */
  requested: z.string(),
  ref: z.string(),
  id: z.string(),
  name: z.string(),
  version: z.number().int(),
  /** The registered model's description, then the version's. */
  modelDescription: z.string().nullable(),
  description: z.string().nullable(),
  sha256: z.string(),
  size: z.number(),
  format: z.string(),
  source: z.string(),
  signature: traceSignatureSchema.nullable(),
  tags: z.record(z.string(), z.string()),
  /** The editable model-card fields (intended use, limitations ...); absent ones were never written. */
  card: cardFieldsSchema,
  aliasesNow: z.array(z.string()),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type ComplianceModel = z.infer<typeof complianceModelSchema>;

/** A training dataset version as the trace reads it, plus its licence. */
export const complianceDatasetSchema = traceDatasetSchema.extend({ license: z.string().nullable() });
export type ComplianceDataset = z.infer<typeof complianceDatasetSchema>;

/** Whether the training run was re-run and gave the same model bytes. */
export const reproductionSchema = z.object({
  /** reproduced: same sha256; differs: a reproduction gave other bytes; not_checked: none on record. */
  status: z.enum(['reproduced', 'differs', 'not_checked']),
  /** The reproducing run (tagged sextant.reproduces=<original run>), when there is one. */
  runId: z.string().nullable(),
  at: z.string().nullable(),
  expectedSha256: z.string(),
  reproducedSha256: z.string().nullable(),
  /** True when this report ran the reproduction itself (`--reproduce`). */
  ranNow: z.boolean(),
  note: z.string(),
});
export type Reproduction = z.infer<typeof reproductionSchema>;

export const complianceTrainingSchema = z.object({
  run: traceRunSchema.nullable(),
  /** The seed the trainer used (param `seed`, else tag `sextant.seed`). */
  seed: z.string().nullable(),
  codeCommit: z.string().nullable(),
  command: z.string().nullable(),
  environment: environmentSchema,
  reproduction: reproductionSchema,
});

/** The newest value of one measured metric (per slice, per feature) in the period. */
export const complianceMeasureSchema = z.object({
  metric: z.string(),
  feature: z.string().nullable(),
  slice: z.string().nullable(),
  deployment: z.string(),
  value: z.number().nullable(),
  status: z.string(),
  /** The window end of that newest point. */
  at: z.string(),
  /** Points measured in the period, and how many of them were `alert` or `warning`. */
  points: z.number().int(),
  alerts: z.number().int(),
  warnings: z.number().int(),
});
export type ComplianceMeasure = z.infer<typeof complianceMeasureSchema>;

/** A metric that may be undefined on a slice (AUC of a one-class group): null, as `evaluate --json` writes it. */
const metricsSchema = z.record(z.string(), z.number().nullable());

/** One value of a slice attribute: its rows and the metrics of the model on them. */
export const offlineSliceSchema = z.object({
  attribute: z.string(),
  value: z.string(),
  rows: z.number().int(),
  metrics: metricsSchema,
});

/** One group of a protected attribute against the rest: Clarify's post- and pre-training bias metrics. */
export const offlineFairnessGroupSchema = z.object({
  attribute: z.string(),
  value: z.string(),
  /** `<attribute>=<value>`, as monitoring's fairness points name it. */
  slice: z.string(),
  size: z.number().int(),
  restSize: z.number().int(),
  /** Share of the group's rows the model predicted positive, and with a positive label. */
  predictedPositiveRate: z.number().nullable(),
  positiveRate: z.number().nullable(),
  /** DI (with `fourFifths`: true when DI < 0.8), DPPL, AD, RD ... and CI, DPL of the labels. */
  metrics: z.record(
    z.string(),
    z.object({
      value: z.number().nullable(),
      status: z.string(),
      reason: z.string().optional(),
      fourFifths: z.boolean().optional(),
    }),
  ),
});
export type OfflineFairnessGroup = z.infer<typeof offlineFairnessGroupSchema>;

/**
 * The version evaluated offline when the report was made: on its own validation split (recomputed
 * from the run's recorded dataset digest, split_seed and val_fraction) or on a holdout dataset
 * version, overall, per value of each slice attribute, and fairness per group.
 */
export const offlineEvaluationSchema = z.object({
  status: z.enum(['evaluated', 'not_evaluated']),
  /** Why nothing was evaluated, or which option adds slices; null when there is nothing to say. */
  note: z.string().nullable(),
  /** Where the slice attributes came from: the report's `slices` option, the card, or nowhere. */
  attributes: z.array(z.string()),
  attributesFrom: z.enum(['option', 'card', 'none']),
  data: z
    .object({
      kind: z.enum(['validation_split', 'holdout']),
      /** `<dataset>@<n>` and the digest that pins it. */
      ref: z.string(),
      digest: z.string(),
      /** validation_split: the recorded split. */
      splitSeed: z.number().int().nullable(),
      valFraction: z.number().nullable(),
      rows: z.number().int(),
    })
    .nullable(),
  task: z.string().nullable(),
  target: z.string().nullable(),
  /** The class whose predicted rate fairness compares (classes[1]: a prediction above 0.5). */
  positiveClass: z.string().nullable(),
  metrics: metricsSchema,
  slices: z.array(offlineSliceSchema),
  fairness: z.array(offlineFairnessGroupSchema),
  /** Per attribute, why fairness was not measured (one group only, a regressor ...). */
  fairnessNotes: z.array(z.object({ attribute: z.string(), note: z.string() })),
});
export type OfflineEvaluation = z.infer<typeof offlineEvaluationSchema>;

export const complianceEvaluationSchema = z.object({
  /** The version's own metrics as registered (from the training run's validation). */
  metrics: z.record(z.string(), z.number()),
  /** The version evaluated now, per slice and per protected group (same numbers as `sextant evaluate --slice`). */
  offline: offlineEvaluationSchema,
  /** Performance per slice measured in production on labelled traffic (`performance.*` with a slice). */
  slices: z.array(complianceMeasureSchema),
  /** Fairness per group (`fairness.*` points, one per slice). */
  fairness: z.array(complianceMeasureSchema),
});

export const complianceApprovalSchema = z.object({
  requestId: z.string(),
  alias: z.string(),
  kind: z.string(),
  status: z.string(),
  requestedBy: z.string(),
  reason: z.string().nullable(),
  createdAt: z.string(),
  decidedAt: z.string().nullable(),
  approvalsNeeded: z.number().int(),
  decisions: promotionRequestSchema.shape.decisions,
  /** Gates as evaluated when the request opened, and again when it executed (with their evidence). */
  openGates: z.array(gateResultSchema),
  executionGates: z.array(gateResultSchema).nullable(),
});
export type ComplianceApproval = z.infer<typeof complianceApprovalSchema>;

export const complianceDeploymentSchema = z.object({
  id: z.string(),
  name: z.string(),
  ref: z.string(),
  challenger: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  deletedAt: z.string().nullable(),
  /** Predictions this version answered through the deployment in the period, and how many got labels. */
  predictions: z.number().int(),
  labelled: z.number().int(),
});

export const complianceAlertSchema = z.object({
  id: z.string(),
  rule: z.string(),
  deployment: z.string(),
  metric: z.string(),
  feature: z.string().nullable(),
  slice: z.string().nullable(),
  severity: z.string(),
  state: z.string(),
  condition: z.string(),
  value: z.number().nullable(),
  firedAt: z.string(),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  comment: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  /** What the rule's action did (rollback, retrain ...), in words. */
  action: z.string(),
  actionOutcome: z.string().nullable(),
});

export const complianceProductionSchema = z.object({
  /** Every alias move of the model in the period, this version's and the others' (context). */
  aliasHistory: z.array(aliasEventSchema),
  deployments: z.array(complianceDeploymentSchema),
  /** Predictions this version answered in the period (all deployments). */
  predictions: z.number().int(),
  labelled: z.number().int(),
  /** Whole-traffic monitoring results (drift, quality, performance, estimates) in the period. */
  monitoring: z.array(complianceMeasureSchema),
  alerts: z.array(complianceAlertSchema),
});

export const complianceSampleSchema = z.object({
  predictionId: z.string(),
  servedAt: z.string(),
  deployment: z.string().nullable(),
  alias: z.string().nullable(),
  inputs: z.record(z.string(), z.unknown()),
  outputs: z.unknown(),
  label: z.unknown().nullable(),
  /** The links the trace could not follow (none: traced to the data). */
  traceGaps: z.array(traceGapSchema),
  /** Training datasets the trace reached, as `<dataset>@<n>`. */
  tracedDatasets: z.array(z.string()),
  explanation: explanationSchema.nullable(),
  /** Why no explanation is shown (a model type the explainers cannot open, say). */
  explanationError: z.string().nullable(),
});
export type ComplianceSample = z.infer<typeof complianceSampleSchema>;

export const complianceAuditSchema = auditVerifyResultSchema.extend({ verifiedAt: z.string() });

export const complianceReportSchema = z.object({
  /** The report's schema version: a reader can tell which fields to expect. */
  schemaVersion: z.literal(1),
  generatedAt: z.string(),
  generatedBy: z.string(),
  period: z.object({ from: z.string(), to: z.string() }),
  model: complianceModelSchema,
  data: z.object({ datasets: z.array(complianceDatasetSchema) }),
  training: complianceTrainingSchema,
  evaluation: complianceEvaluationSchema,
  approvals: z.object({
    requests: z.array(complianceApprovalSchema),
    /** Alias moves that put this version somewhere, with the approvals recorded on them. */
    moves: z.array(aliasEventSchema),
  }),
  production: complianceProductionSchema,
  samples: z.array(complianceSampleSchema),
  audit: complianceAuditSchema,
  /** Links the report could not follow, as the trace names them. */
  gaps: z.array(traceGapSchema),
});
export type ComplianceReport = z.infer<typeof complianceReportSchema>;

/** What a report is asked for: `<model>@<n|alias|latest>` split, and an optional period (ISO times). */
export const complianceReportInputSchema = z.strictObject({
  model: z.string().min(1).max(256),
  ref: z.string().min(1).max(64),
  from: isoTimeSchema.optional(),
  to: isoTimeSchema.optional(),
  /** Predictions to trace and explain (default 5). */
  samples: z.number().int().min(0).max(50).optional(),
  /** Set by the caller that has just run the reproduction (`--reproduce`), so the document says so. */
  reproducedNow: z.boolean().optional(),
  /** Attributes to evaluate per slice and fairness per group (default: the card's protected_attributes). */
  slices: z.array(z.string().min(1).max(256)).max(20).optional(),
  /** `<dataset>@<v>` to evaluate on instead of the run's validation split. */
  holdout: z
    .string()
    .regex(/^[^@\s]+@[^@\s]+$/, 'expected <dataset>@<version>')
    .optional(),
});
export type ComplianceReportInput = z.input<typeof complianceReportInputSchema>;

/** `?format=html` gives the rendered document (text/html), json (default) the data. */
export const complianceReportQuerySchema = z.strictObject({
  format: z.enum(['json', 'html']).default('json'),
  from: isoTimeSchema.optional(),
  to: isoTimeSchema.optional(),
  /** Explained predictions to include (default 5). */
  samples: z.coerce.number().int().min(0).max(50).optional(),
  reproducedNow: z.enum(['true', 'false']).optional(),
  /** Comma-separated slice attributes (`slices=sex,age_band`). */
  slices: z.string().min(1).max(2000).optional(),
  /** `<dataset>@<v>` to evaluate on instead of the validation split. */
  holdout: z.string().min(1).max(300).optional(),
});

/** `a, b,,c` -> ['a', 'b', 'c']: the slices option, the query parameter and the card field share it. */
export function attributeList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}
