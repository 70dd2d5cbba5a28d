import { z } from 'zod';

/*
 * The usage record contract: what a meter reports (CLI `sextant run`, job attempts, deployments) and
 * what the API accepts at POST /api/v1/cost/usage. Quantities are raw; prices are applied on read.
 */

export const usageKindSchema = z.enum(['run', 'job', 'deployment', 'storage']);
export type UsageKind = z.infer<typeof usageKindSchema>;

export const gpuDeviceUsageSchema = z.strictObject({
  index: z.number().int().nonnegative(),
  uuid: z.string().max(200),
  name: z.string().max(200),
  seconds: z.number().nonnegative(),
  utilizationAvg: z.number().min(0).max(100).nullable(),
  memoryPeakMib: z.number().nonnegative().nullable(),
});

const nonNeg = z.number().nonnegative().finite();

/** One metered interval. Times are epoch ms; an end before the start is clamped (clock skew) and noted. */
export const recordUsageInputSchema = z.strictObject({
  kind: usageKindSchema,
  runId: z.string().min(1).max(200).optional(),
  jobId: z.string().min(1).max(200).optional(),
  deploymentId: z.string().min(1).max(200).optional(),
  modelVersionId: z.string().min(1).max(200).optional(),
  /** Storage records: the dataset version the bytes are attributed to. */
  datasetVersionId: z.string().min(1).max(200).optional(),
  host: z.string().max(500).optional(),
  startedAt: z.number().int().nonnegative(),
  endedAt: z.number().int().nonnegative(),
  cpuSeconds: nonNeg.nullable().optional(),
  peakMemoryBytes: nonNeg.nullable().optional(),
  requestedCpus: nonNeg.optional(),
  requestedMemoryBytes: nonNeg.optional(),
  gpuDevices: z.array(gpuDeviceUsageSchema).max(64).optional(),
  gpuModel: z.string().max(200).optional(),
  instanceType: z.string().max(200).optional(),
  instanceSeconds: nonNeg.optional(),
  predictions: z.number().int().nonnegative().optional(),
  /** Storage records: bytes held over the interval (priced per GiB-month). */
  storageBytes: nonNeg.optional(),
  notes: z.array(z.string().max(500)).max(20).optional(),
});
export type RecordUsageInput = z.infer<typeof recordUsageInputSchema>;

/** A stored usage record as the API shows it. */
export const usageRecordSchema = z.object({
  id: z.string(),
  kind: usageKindSchema,
  runId: z.string().nullable(),
  jobId: z.string().nullable(),
  deploymentId: z.string().nullable(),
  modelVersionId: z.string().nullable(),
  datasetVersionId: z.string().nullable(),
  host: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string(),
  wallSeconds: z.number(),
  cpuSeconds: z.number().nullable(),
  peakMemoryBytes: z.number().nullable(),
  gpuModel: z.string().nullable(),
  gpuSeconds: z.number().nullable(),
  gpuDevices: z.array(gpuDeviceUsageSchema),
  instanceType: z.string().nullable(),
  instanceSeconds: z.number().nullable(),
  predictions: z.number().nullable(),
  storageBytes: z.number().nullable(),
  notes: z.array(z.string()),
});
export type UsageRecord = z.infer<typeof usageRecordSchema>;
