import { z } from 'zod';
import { TableDiffSchema, TableProfileSchema, TableSchemaSchema } from './tables/table.schema.js';

/*
 * Contracts of dataset versions, shared by the API, the CLI, the client and the web UI.
 * A version is an immutable manifest of files; its digest (sha256 of the canonical manifest) is the
 * version id people see; `number` (1, 2, 3 ... per dataset) is the short name.
 */

/** Dataset names: letters, digits, _ . - (no '@', which separates a ref's version part). */
export const datasetNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][\w.-]*$/, 'must start with a letter or digit and hold only letters, digits, _ . -');

/** Tag names start with a letter so they never read as a version number; "latest" is reserved. */
export const datasetTagSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z][\w.-]*$/, 'must start with a letter and hold only letters, digits, _ . -')
  .refine((t) => t !== 'latest', { message: "'latest' is reserved (it always means the newest version)" });

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

/** A path inside a version: relative, '/'-separated, no empty, '.' or '..' segment. */
export const manifestPathSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && !p.includes('\0'), {
    message: "must be a relative path with '/' separators",
  })
  .refine((p) => p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), {
    message: "may not contain empty, '.' or '..' segments",
  });

export const manifestFileSchema = z.strictObject({
  path: manifestPathSchema,
  size: z.number().int().nonnegative(),
  sha256: sha256Schema,
});
export type ManifestFile = z.infer<typeof manifestFileSchema>;

export const tableFormatSchema = z.enum(['csv', 'parquet', 'jsonl']);
export type TableFormat = z.infer<typeof tableFormatSchema>;

// Schema, profile and table-diff shapes belong to the tables module.
const tableSchemaJson = TableSchemaSchema;
const tableProfileJson = TableProfileSchema;
const tableDiffJson = TableDiffSchema;

export const versionTableSchema = z.object({
  path: z.string(),
  format: tableFormatSchema,
  rowCount: z.number(),
  schema: tableSchemaJson,
  profile: tableProfileJson,
});
export type VersionTable = z.infer<typeof versionTableSchema>;

export const datasetVersionSchema = z.object({
  id: z.string(),
  digest: z.string(),
  dataset: z.string(),
  number: z.number(),
  createdAt: z.string(),
  createdBy: z.string(),
  source: z.string().optional(),
  description: z.string().optional(),
  owner: z.string().optional(),
  license: z.string().optional(),
  pii: z.boolean(),
  parents: z.array(z.string()),
  producedByRunId: z.string().optional(),
  files: z.array(z.object({ path: z.string(), size: z.number(), sha256: z.string() })),
  tables: z.array(versionTableSchema),
  tags: z.array(z.string()),
});
export type DatasetVersion = z.infer<typeof datasetVersionSchema>;

/** A version without its files and tables: one line of `data log`. */
export const versionSummarySchema = z.object({
  id: z.string(),
  digest: z.string(),
  dataset: z.string(),
  number: z.number(),
  createdAt: z.string(),
  createdBy: z.string(),
  description: z.string().optional(),
  source: z.string().optional(),
  pii: z.boolean(),
  fileCount: z.number(),
  totalSize: z.number(),
  /** Parent versions as refs (`dataset@number`). */
  parents: z.array(z.string()),
  producedByRunId: z.string().optional(),
  tags: z.array(z.string()),
});
export type VersionSummary = z.infer<typeof versionSummarySchema>;

export const datasetSummarySchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  versions: z.number(),
  latest: versionSummarySchema.optional(),
});
export type DatasetSummary = z.infer<typeof datasetSummarySchema>;

/** Null tokens a version may choose (`--null-values`): how many, and how long each. */
const NULL_TOKENS_MAX = 64;
const NULL_TOKEN_MAX = 64;

const optionalText = (max: number) => z.string().trim().min(1).max(max).optional();

/** Metadata a caller gives with a new version. */
export const versionMetadataSchema = z.strictObject({
  source: optionalText(4000),
  description: optionalText(10_000),
  owner: optionalText(256),
  license: optionalText(256),
  pii: z.boolean().default(false),
  /** Parent versions as refs, e.g. `raw-events@3`. */
  parents: z.array(z.string().min(1).max(300)).max(100).default([]),
  producedByRunId: z.string().min(1).max(256).optional(),
  /**
   * CSV cell texts to read as null instead of the usual list (an empty cell always is). Recorded with
   * the version, so every later reader (profile, validate, train, predict, monitors) reads the same.
   */
  nullValues: z
    .array(z.string().max(NULL_TOKEN_MAX, `a null token is at most ${NULL_TOKEN_MAX} characters`))
    .max(NULL_TOKENS_MAX, `at most ${NULL_TOKENS_MAX} null tokens`)
    .optional(),
});
export type VersionMetadata = z.input<typeof versionMetadataSchema>;

/** The body that commits a version whose blobs are already stored. */
export const createVersionBodySchema = versionMetadataSchema.extend({
  files: z.array(manifestFileSchema).min(1, 'a version needs at least one file').max(1_000_000),
});
export type CreateVersionInput = z.input<typeof createVersionBodySchema>;

export const addResultSchema = z.object({
  version: datasetVersionSchema,
  /** false when the same content already was a version of this dataset (that version is returned). */
  created: z.boolean(),
});
export type AddResult = z.infer<typeof addResultSchema>;

export const missingBlobsBodySchema = z.strictObject({
  blobs: z
    .array(z.strictObject({ sha256: sha256Schema, size: z.number().int().nonnegative() }))
    .max(1_000_000),
});

export const fileChangeSchema = z.object({
  path: z.string(),
  a: z.object({ size: z.number(), sha256: z.string() }),
  b: z.object({ size: z.number(), sha256: z.string() }),
});

export const datasetDiffSchema = z.object({
  a: versionSummarySchema,
  b: versionSummarySchema,
  added: z.array(z.object({ path: z.string(), size: z.number(), sha256: z.string() })),
  removed: z.array(z.object({ path: z.string(), size: z.number(), sha256: z.string() })),
  changed: z.array(fileChangeSchema),
  unchanged: z.number(),
  /** Tables present in both versions under the same path, compared from their stored profiles. */
  tables: z.array(z.object({ path: z.string(), diff: tableDiffJson })),
});
export type DatasetDiff = z.infer<typeof datasetDiffSchema>;

/** `data status`: a working folder against a dataset's latest version. */
export const dataStatusSchema = z.object({
  dataset: z.string(),
  base: z.object({ number: z.number(), digest: z.string() }).nullable(),
  added: z.array(z.string()),
  changed: z.array(z.string()),
  removed: z.array(z.string()),
  unchanged: z.number(),
  /** Files whose hash came from the size+mtime+inode cache, without reading them. */
  cached: z.number(),
});
export type DataStatus = z.infer<typeof dataStatusSchema>;
