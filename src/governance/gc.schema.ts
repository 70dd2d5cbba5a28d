import { z } from 'zod';

/** How long a blob must have existed before gc may delete it: an upload whose version is not committed yet survives. */
export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;

export const gcBodySchema = z.strictObject({
  /** false (the default) only reports what would go. */
  delete: z.boolean().default(false),
  /** Blobs younger than this many seconds are kept, referenced or not. */
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(10 * 365 * 24 * 3600)
    .default(DEFAULT_GC_GRACE_MS / 1000),
});
export type GcInput = z.input<typeof gcBodySchema>;

export const gcBlobSchema = z.object({
  sha256: z.string(),
  size: z.number(),
  /** When the store last wrote it (ISO), when the store can tell. */
  modifiedAt: z.string().nullable(),
});
export type GcBlob = z.infer<typeof gcBlobSchema>;

const tally = z.object({ count: z.number().int(), bytes: z.number() });

export const gcReportSchema = z.object({
  dryRun: z.boolean(),
  graceSeconds: z.number().int(),
  /** Every blob the store listed. */
  scanned: tally,
  /** Blobs that something references (kept). */
  referenced: tally,
  /** Unreferenced blobs old enough to go: deleted unless dryRun. */
  unreferenced: tally.extend({ blobs: z.array(gcBlobSchema) }),
  /** Unreferenced blobs kept because they are younger than the grace period (or their age is unknown). */
  young: tally,
  /** Blobs that became referenced between the scan and the delete (kept). */
  rescued: tally,
  /** What was actually removed (0 on a dry run). */
  deleted: tally,
  /** sha256 of the sorted list of deleted keys, as written to the audit entry. */
  digest: z.string().nullable(),
  auditEntryId: z.string().nullable(),
});
export type GcReport = z.infer<typeof gcReportSchema>;
