import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import { defineJob } from '../../jobs/index.js';
import type { Db } from '../../store/index.js';
import { type BlobReference, blobReferences, lastStorageUsageEnd } from './storage-meter.repo.js';
import type { RecordUsageInput } from './usage.schema.js';

/*
 * Storage is metered from what the domains already record: a dataset version's manifest, a run's
 * artifacts and a model version's files each list blobs by sha256. The store keeps one copy of a blob
 * however many reference it, so a blob's bytes are shared evenly between its referrers (a referrer
 * listing it twice counts once): the shares add up to the unique bytes stored. Each pass records, per
 * referrer, the bytes it holds now over the interval since the previous pass (a snapshot at the pass,
 * as cloud storage bills a daily average); the report prices bytes x time per GiB-month.
 */

export const STORAGE_METER_JOB = 'cost.meter-storage';
/** How often storage is metered: daily, as storage bills are; a pass covers the time since the last. */
export const STORAGE_METER_EVERY_MS = 86_400_000;
/** The first pass has no previous one: it covers this long. */
const FIRST_PASS_MS = 86_400_000;

type Referrer = Pick<BlobReference, 'datasetVersionId' | 'runId' | 'modelVersionId'>;

/** Each referrer's bytes: its blobs, each blob's size divided evenly between its distinct referrers. */
export function sharedBytes(refs: BlobReference[]): { referrer: Referrer; bytes: number }[] {
  const keyOf = (r: Referrer) =>
    r.datasetVersionId ? `d:${r.datasetVersionId}` : r.runId ? `r:${r.runId}` : `m:${r.modelVersionId}`;
  const blobs = new Map<string, { size: number; referrers: Set<string> }>();
  const referrers = new Map<string, Referrer>();
  for (const ref of refs) {
    const k = keyOf(ref);
    referrers.set(k, {
      datasetVersionId: ref.datasetVersionId,
      runId: ref.runId,
      modelVersionId: ref.modelVersionId,
    });
    const b = blobs.get(ref.sha256) ?? { size: ref.size, referrers: new Set<string>() };
    b.referrers.add(k);
    blobs.set(ref.sha256, b);
  }
  const bytes = new Map<string, number>();
  for (const b of blobs.values())
    for (const k of b.referrers) bytes.set(k, (bytes.get(k) ?? 0) + b.size / b.referrers.size);
  return [...bytes].map(([k, n]) => ({ referrer: referrers.get(k)!, bytes: n }));
}

/** One pass: a storage record per referrer holding bytes, over the interval since the last pass. */
export async function meterStorage({ db, clock }: { db: Db; clock: Clock }): Promise<RecordUsageInput[]> {
  const to = clock.now();
  const from = (await lastStorageUsageEnd({ tx: db })) ?? to - FIRST_PASS_MS;
  if (to <= from) return [];
  return sharedBytes(await blobReferences({ tx: db }))
    .filter((s) => s.bytes > 0)
    .map(({ referrer, bytes }) => ({
      kind: 'storage' as const,
      ...(referrer.datasetVersionId ? { datasetVersionId: referrer.datasetVersionId } : {}),
      ...(referrer.runId ? { runId: referrer.runId } : {}),
      ...(referrer.modelVersionId ? { modelVersionId: referrer.modelVersionId } : {}),
      startedAt: from,
      endedAt: to,
      storageBytes: bytes,
    }));
}

/** `cost.meter-storage`: records each referrer's share of stored bytes since the last pass (system queue). */
export function storageMeterJob(deps: {
  db: Db;
  clock: Clock;
  record(records: RecordUsageInput[]): Promise<unknown>;
  queue: string;
}) {
  return defineJob({
    name: STORAGE_METER_JOB,
    payload: z.strictObject({}),
    queue: deps.queue,
    attempts: 1,
    timeoutMs: 600_000,
    handler: async () => {
      const records = await meterStorage(deps);
      if (records.length) await deps.record(records);
      return { records: records.length };
    },
  });
}
