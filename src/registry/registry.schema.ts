import { z } from 'zod';

/*
 * Contracts of the model registry, shared by the native API, the CLI, the client and the web UI.
 * Refs name a version everywhere: `<model>@<n>` is version n, `<model>@<alias>` the alias's holder,
 * `<model>@latest` the newest live version.
 */

/** A model name: no '@' (it separates the version), no '/' (paths), no control characters. */
export const modelNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .refine((s) => !/[@/\\\p{Cc}]/u.test(s), 'may not contain @, /, \\ or control characters');

/** An alias: lowercase identifier; `latest` and numbers are not aliases (they already mean versions). */
export const aliasSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_-]*$/, 'must start with a letter and hold only a-z, 0-9, _ and -')
  .refine((a) => a !== 'latest', "'latest' is reserved (it names the newest version)");

export const versionNumberSchema = z.coerce.number().int().min(1).max(2_147_483_647);

/** A ref as typed: `<model>@<n>`, `<model>@<alias>`, `<model>@latest`. */
export const versionRefSchema = z
  .string()
  .min(3)
  .max(400)
  .regex(/@/, 'must look like <model>@<version or alias>');

/** 'endpoint': an external model served by another server and fronted by Sextant's gateway (see endpoint.schema.ts). */
export const modelFormatSchema = z.enum(['onnx', 'generic', 'endpoint']);
export type ModelFormat = z.infer<typeof modelFormatSchema>;

export const tensorSpecSchema = z.object({
  name: z.string(),
  type: z.string(),
  shape: z.array(z.union([z.number(), z.string()])).optional(),
});

/** What the model takes and gives: read from the ONNX file, and from signature.json when the run has one. */
export const signatureSchema = z.object({
  inputs: z.array(tensorSpecSchema),
  outputs: z.array(tensorSpecSchema),
  /** signature.json as the trainer wrote it (task, target, classes, ...), when there is one. */
  declared: z.record(z.string(), z.unknown()).optional(),
});
export type Signature = z.infer<typeof signatureSchema>;

export const environmentSchema = z.object({
  node: z.string().optional(),
  os: z.string().optional(),
  lockfileSha256: z.string().optional(),
  /** Where the facts came from: the run's tags, the registering client, or the registry itself. */
  source: z.enum(['run', 'client', 'registry']),
});
export type ModelEnvironment = z.infer<typeof environmentSchema>;

export const versionFileSchema = z.object({ path: z.string(), sha256: z.string(), size: z.number() });

/** Editable model-card fields (the rest of the card is generated). */
export const CARD_FIELDS = [
  'intended_use',
  'out_of_scope_use',
  'limitations',
  'ethical_considerations',
  'caveats',
  'owners',
  /**
   * The protected (sensitive) attributes, comma-separated column names (`sex, age_band`): the
   * compliance report evaluates and measures fairness per group of each.
   */
  'protected_attributes',
] as const;
export const cardFieldSchema = z.enum(CARD_FIELDS);
export type CardField = z.infer<typeof cardFieldSchema>;
export const cardFieldsSchema = z.partialRecord(cardFieldSchema, z.string().max(20_000));

export const modelVersionSchema = z.object({
  id: z.string(),
  /** The registered model's id: what deployments bind to (a rename keeps it, a new model of the name does not). */
  modelId: z.string(),
  model: z.string(),
  version: z.number().int(),
  runId: z.string().nullable(),
  runAuthor: z.string().nullable(),
  source: z.string(),
  format: modelFormatSchema,
  sha256: z.string(),
  size: z.number(),
  files: z.array(versionFileSchema),
  signature: signatureSchema.nullable(),
  datasetVersionIds: z.array(z.string()),
  codeCommit: z.string().nullable(),
  command: z.string().nullable(),
  params: z.record(z.string(), z.string()),
  metrics: z.record(z.string(), z.number()),
  environment: environmentSchema,
  description: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  card: cardFieldsSchema,
  aliases: z.array(z.string()),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type ModelVersion = z.infer<typeof modelVersionSchema>;

export const registeredModelSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  latestVersion: z.number().int().nullable(),
  aliases: z.array(z.object({ alias: z.string(), version: z.number().int() })),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type RegisteredModel = z.infer<typeof registeredModelSchema>;

export const aliasEventKindSchema = z.enum(['set', 'promote', 'rollback', 'delete']);
export type AliasEventKind = z.infer<typeof aliasEventKindSchema>;

export const approvalRefSchema = z.object({
  actor: z.string(),
  role: z.string(),
  comment: z.string().nullable(),
  at: z.string(),
});

/** One move of an alias: who, when, from, to, why, and the approvals behind it. */
export const aliasEventSchema = z.object({
  id: z.string(),
  model: z.string(),
  alias: z.string(),
  kind: aliasEventKindSchema,
  fromVersion: z.number().int().nullable(),
  toVersion: z.number().int().nullable(),
  actor: z.string(),
  at: z.string(),
  reason: z.string().nullable(),
  requestId: z.string().nullable(),
  approvals: z.array(approvalRefSchema),
  emergency: z.boolean(),
});
export type AliasEvent = z.infer<typeof aliasEventSchema>;

/** "Which version held the alias at T": the version (null if none) and the move that put it there. */
export const aliasAtSchema = z.object({
  model: z.string(),
  alias: z.string(),
  at: z.string(),
  version: z.number().int().nullable(),
  since: aliasEventSchema.nullable(),
});
export type AliasAt = z.infer<typeof aliasAtSchema>;

export const gateStatusSchema = z.enum(['pass', 'fail', 'no_data']);
export type GateStatus = z.infer<typeof gateStatusSchema>;
export const gateResultSchema = z.object({
  gate: z.string(),
  type: z.string(),
  status: gateStatusSchema,
  message: z.string(),
  observed: z.unknown().optional(),
});
export type GateResult = z.infer<typeof gateResultSchema>;

/** The states of a promotion request; `expired` is computed for pending requests past their expiry. */
export const promotionStatusSchema = z.enum([
  'pending',
  'blocked',
  'rejected',
  'executed',
  'expired',
  'cancelled',
]);
export type PromotionStatus = z.infer<typeof promotionStatusSchema>;

export const promotionKindSchema = z.enum(['promote', 'rollback']);
export type PromotionKind = z.infer<typeof promotionKindSchema>;

export const decisionSchema = z.object({
  actor: z.string(),
  role: z.string(),
  decision: z.enum(['approve', 'reject']),
  comment: z.string().nullable(),
  at: z.string(),
});

export const promotionRequestSchema = z.object({
  id: z.string(),
  model: z.string(),
  version: z.number().int(),
  alias: z.string(),
  kind: promotionKindSchema,
  status: promotionStatusSchema,
  fromVersion: z.number().int().nullable(),
  requestedBy: z.string(),
  reason: z.string().nullable(),
  approvalsNeeded: z.number().int(),
  decisions: z.array(decisionSchema),
  openGates: z.array(gateResultSchema),
  executionGates: z.array(gateResultSchema).nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
  decidedAt: z.string().nullable(),
});
export type PromotionRequest = z.infer<typeof promotionRequestSchema>;

export const policyViewSchema = z.object({
  scope: z.string(),
  source: z.enum(['model', 'default', 'built-in']),
  yaml: z.string(),
  updatedBy: z.string().nullable(),
  updatedAt: z.string().nullable(),
});
export type PolicyView = z.infer<typeof policyViewSchema>;

/** A rollback either moved the alias (emergency by an admin, when the policy allows) or opened a request. */
export const rollbackResultSchema = z.union([
  z.object({ outcome: z.literal('rolled_back'), event: aliasEventSchema }),
  z.object({ outcome: z.literal('requested'), request: promotionRequestSchema }),
]);
export type RollbackResult = z.infer<typeof rollbackResultSchema>;

export const modelCardSchema = z.object({
  model: z.string(),
  version: z.number().int(),
  format: z.enum(['markdown', 'html']),
  content: z.string(),
  fields: cardFieldsSchema,
});
export type ModelCard = z.infer<typeof modelCardSchema>;

// ---- request bodies ----

export const createModelBodySchema = z.strictObject({
  name: modelNameSchema,
  description: z.string().max(20_000).optional(),
  tags: z.record(z.string().min(1).max(250), z.string().max(8000)).optional(),
});

export const registerFromRunBodySchema = z.strictObject({
  runId: z.string().min(1).max(256),
  path: z.string().min(1).max(1024).default('model'),
  description: z.string().max(20_000).optional(),
  tags: z.record(z.string().min(1).max(250), z.string().max(8000)).optional(),
  environment: z
    .strictObject({
      node: z.string().max(100).optional(),
      os: z.string().max(200).optional(),
      lockfileSha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .optional(),
    })
    .optional(),
});
export type RegisterFromRunInput = z.input<typeof registerFromRunBodySchema>;

export const registerFileQuerySchema = z.strictObject({
  filename: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^/\\]+$/, 'must be a file name without folders'),
  description: z.string().max(20_000).optional(),
  /** A single float tensor input's column names in order, comma-separated (`--features a,b,c`). */
  features: z.string().min(1).max(100_000).optional(),
});

export const openPromotionBodySchema = z.strictObject({
  ref: versionRefSchema,
  alias: aliasSchema,
  reason: z.string().max(4000).optional(),
});

/** The body of a dry-run promotion check: the version and the alias it would move. */
export const checkPromotionBodySchema = z.strictObject({ ref: versionRefSchema, alias: aliasSchema });

const trainingDataSchema = z.object({ id: z.string(), ref: z.string(), digest: z.string() });

/**
 * What a promotion of a version to an alias would face now, written nowhere (`sextant ci`): the
 * policy's gates evaluated as a request would evaluate them, and the training data of both sides.
 */
export const promotionCheckSchema = z.object({
  model: z.string(),
  version: z.number().int(),
  alias: z.string(),
  /** The version holding the alias now (null: nobody yet). */
  holder: z.number().int().nullable(),
  policySource: z.enum(['model', 'default', 'built-in']),
  gates: z.array(gateResultSchema),
  /** Every gate passed (no gates: true). */
  passed: z.boolean(),
  trainingData: z.object({ candidate: z.array(trainingDataSchema), holder: z.array(trainingDataSchema) }),
});
export type PromotionCheck = z.infer<typeof promotionCheckSchema>;

export const decideBodySchema = z.strictObject({ comment: z.string().max(4000).optional() });
export const rejectBodySchema = z.strictObject({ comment: z.string().min(1).max(4000) });

export const rollbackBodySchema = z.strictObject({
  alias: aliasSchema.default('champion'),
  reason: z.string().max(4000).optional(),
});

export const setAliasBodySchema = z.strictObject({
  version: versionNumberSchema,
  reason: z.string().max(4000).optional(),
});

/** An ISO-8601 time as people type it: `2026-03-01T12:00Z`, with seconds, fractions or an offset, or a date. */
export const isoTimeSchema = z
  .string()
  .max(40)
  .regex(
    /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/,
    'must be an ISO-8601 time such as 2026-03-01T12:00Z',
  )
  .refine((s) => !Number.isNaN(Date.parse(s)), 'is not a real time');

export const historyQuerySchema = z.strictObject({
  alias: aliasSchema.optional(),
  at: isoTimeSchema.optional(),
});

export const policyBodySchema = z.strictObject({ yaml: z.string().min(1).max(100_000) });
