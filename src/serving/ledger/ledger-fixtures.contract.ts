import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { createAuditLog } from '../../audit/index.js';
import { LocalBlobStore } from '../../blobs/index.js';
import { systemClock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import type { Store } from '../../store/index.js';
import { type LedgerOptions, openPredictionLedger, type PredictionLedger } from './prediction-ledger.js';
import type { PredictionRecord } from './prediction-row.js';
import { createSegmentReader, type SegmentReader } from './segment-reader.js';
import { segmentWriter } from './segment-writer.js';

/*
 * Test helpers of the ledger suites (excluded from the build like the other *.contract.ts files).
 */

/** A prediction record of a test deployment; each test passes its own deploymentId. */
export function makeRecord(
  overrides: Partial<PredictionRecord> & { deploymentId: string },
): PredictionRecord {
  const servedAt = overrides.servedAt ?? Date.UTC(2026, 0, 1);
  return {
    id: newId('pred', servedAt),
    modelVersionId: 'mv_test',
    model: 'credit',
    version: 1,
    alias: 'champion',
    role: 'champion',
    servedAt,
    requestKey: null,
    inputs: { age: 41, income: 52000.5, region: 'north' },
    outputs: { prediction: 1, probabilities: { '0': 0.25, '1': 0.75 } },
    latencyUs: 812,
    shadow: null,
    ...overrides,
  };
}

/** How many rows of a deployment the database holds. */
export async function countRows(store: Store, deploymentId: string): Promise<number> {
  const row = await store.db
    .selectFrom('predictions')
    .select(sql<number>`count(*)`.as('n'))
    .where('deployment_id', '=', deploymentId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Ids of a deployment's rows, as stored. */
export async function storedIds(store: Store, deploymentId: string): Promise<Set<string>> {
  const rows = await store.db
    .selectFrom('predictions')
    .select('id')
    .where('deployment_id', '=', deploymentId)
    .execute();
  return new Set(rows.map((r) => r.id));
}

/** Polls until check() is true (15 s at most: the test machines are shared). */
export async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Where a suite's ledgers write: the `predictions` table, or segments (sealed every few rows). */
export type LogStorage = 'table' | 'segments';
export const LOG_STORAGES: readonly LogStorage[] = ['table', 'segments'];

/**
 * The prediction log of a suite: ledgers writing to `storage` and the segment reader of the read side.
 * Segments are sealed every 7 rows, so reads cross open and sealed segments alike.
 */
export function logUnderTest(get: () => Store, storage: LogStorage) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sextant-log-'));
  const blobs = new LocalBlobStore(path.join(dir, 'blobs'));
  let reader: SegmentReader | undefined;
  return {
    storage,
    blobs,
    /** A ledger on the store (options as openPredictionLedger's; the writer follows `storage`). */
    openLedger(opts: Partial<Omit<LedgerOptions, 'store'>> = {}): PredictionLedger {
      return openPredictionLedger({
        store: get(),
        clock: systemClock,
        ...(storage === 'segments'
          ? {
              writer: segmentWriter({
                db: get().db,
                blobs,
                audit: testAudit(get()),
                clock: systemClock,
                dir: path.join(dir, 'segments'),
                maxRows: 7,
              }),
            }
          : {}),
        ...opts,
      });
    },
    segments(): SegmentReader {
      reader ??= createSegmentReader({ db: get().db, blobs, cacheDir: path.join(dir, 'cache') });
      return reader;
    },
  };
}

/** The audit log a test's segment writer appends its seals to. */
export const testAudit = (store: Store) =>
  createAuditLog({
    db: store.db,
    dialect: store.dialect,
    clock: systemClock,
    key: 'ledger-test-key-0123456789',
  });
