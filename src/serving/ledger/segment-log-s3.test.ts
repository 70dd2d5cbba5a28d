import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalS3, startLocalS3 } from '../../../test/support/s3rver.js';
import type { S3BlobStore } from '../../blobs/index.js';
import { systemClock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { openStore, type Store } from '../../store/index.js';
import { makeRecord, testAudit } from './ledger-fixtures.contract.js';
import { openPredictionLedger } from './prediction-ledger.js';
import { createSegmentReader } from './segment-reader.js';
import { segmentWriter } from './segment-writer.js';

/*
 * The segment log on S3 blobs (s3rver on loopback): sealed segments go up as Parquet objects and are
 * read back through a local copy (DuckDB's httpfs is not available), verified against their key.
 */

const BUCKET = 'sextant-segments';
let server: LocalS3;
let dir: string;
let blobs: S3BlobStore;
let store: Store;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-seg-s3-'));
  server = await startLocalS3({ dir, bucket: BUCKET });
  blobs = server.blobStore();
  store = await openStore(`sqlite:${path.join(dir, 'test.db')}`);
});

afterAll(async () => {
  await store?.close();
  await blobs?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('prediction log segments on S3 blobs', () => {
  it('sealed segments are Parquet objects in the bucket; lookups and windows read them back', async () => {
    const dep = newId('dep');
    const ledger = openPredictionLedger({
      store,
      clock: systemClock,
      writer: segmentWriter({
        db: store.db,
        blobs,
        audit: testAudit(store),
        clock: systemClock,
        dir: path.join(dir, 'segments'),
        maxRows: 4,
      }),
    });
    const t0 = Date.UTC(2026, 5, 1);
    const records = Array.from({ length: 9 }, (_, i) => makeRecord({ deploymentId: dep, servedAt: t0 + i }));
    for (const r of records) await ledger.append(r);
    await ledger.close();
    const segs = await store.db
      .selectFrom('prediction_segments')
      .selectAll()
      .where('deployment_id', '=', dep)
      .execute();
    expect(segs.map((s) => [s.state, s.row_count])).toEqual([
      ['sealed', 4],
      ['sealed', 4],
      ['sealed', 1],
    ]);
    for (const s of segs) expect(await blobs.has(s.blob_key as string)).toBe(true);
    const reader = createSegmentReader({ db: store.db, blobs, cacheDir: path.join(dir, 'cache') });
    expect((await reader.find(records[5]?.id as string))?.id).toBe(records[5]?.id);
    const window = await reader.rows({ deploymentIds: [dep], since: t0 + 2, until: t0 + 7 });
    expect(window.map((r) => r.id).sort()).toEqual(records.slice(2, 7).map((r) => r.id));
  });
});
