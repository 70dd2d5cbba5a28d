import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobInfo } from '../blobs/index.js';
import { toIso } from '../core/clock.js';
import type { DomainDeps } from '../core/domain-deps.js';
import { AppError, ConflictError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import { parseOrThrow } from '../core/validate.js';
import { type Executor, inTransaction, type Tx } from '../store/index.js';
import * as repo from './gc.repo.js';
import { type GcBlob, type GcInput, type GcReport, gcBodySchema } from './gc.schema.js';

/** At most this many keys are written into the audit entry itself; the digest covers the whole list. */
const AUDIT_KEY_LIMIT = 1000;
/** Tries at taking the table locks (backing off to 0.5 s between tries: about 20 s in all). */
const LOCK_ATTEMPTS = 45;

interface Listed extends BlobInfo {
  modifiedAt: number | undefined;
}

const sum = (xs: { size: number }[]) => ({ count: xs.length, bytes: xs.reduce((a, b) => a + b.size, 0) });
const out = (b: Listed): GcBlob => ({
  sha256: b.sha256,
  size: b.size,
  modifiedAt: b.modifiedAt === undefined ? null : toIso(b.modifiedAt),
});

/**
 * `sextant gc`: blobs that no dataset version file, run artifact or model version references. A dry run
 * only reports; a delete re-checks every candidate under a lock on the reference tables, removes the
 * ones still unreferenced and writes one audit entry (keys, their digest, the total) in that transaction.
 * Blobs younger than the grace period are never touched: their version may still be on its way in.
 */
export function createGarbageCollector({ db, dialect, audit, clock, blobs }: DomainDeps) {
  async function run(input: GcInput & { actor: string }): Promise<GcReport> {
    const { delete: doDelete, graceSeconds } = parseOrThrow(gcBodySchema, {
      delete: input.delete,
      graceSeconds: input.graceSeconds,
    });
    const now = clock.now();
    const cutoff = now - graceSeconds * 1000;

    // Referenced keys are read before listing: a blob put after this read is young, or listed later still.
    const referencedKeys = await repo.listReferencedKeys({ tx: db });
    const referenced: Listed[] = [];
    const unreferenced: Listed[] = [];
    const young: Listed[] = [];
    let scanned = 0;
    let scannedBytes = 0;
    for await (const info of blobs.list()) {
      scanned += 1;
      scannedBytes += info.size;
      const listed: Listed = { sha256: info.sha256, size: info.size, modifiedAt: undefined };
      if (referencedKeys.has(info.sha256)) {
        referenced.push(listed);
        continue;
      }
      listed.modifiedAt = info.modifiedAt;
      // An age the store cannot tell counts as young, unless the caller waived the grace period.
      const isYoung = listed.modifiedAt === undefined ? graceSeconds > 0 : listed.modifiedAt > cutoff;
      (isYoung ? young : unreferenced).push(listed);
    }
    unreferenced.sort((a, b) => a.sha256.localeCompare(b.sha256));

    const report: GcReport = {
      dryRun: !doDelete,
      graceSeconds,
      scanned: { count: scanned, bytes: scannedBytes },
      referenced: sum(referenced),
      unreferenced: { ...sum(unreferenced), blobs: unreferenced.map(out) },
      young: sum(young),
      rescued: { count: 0, bytes: 0 },
      deleted: { count: 0, bytes: 0 },
      digest: null,
      auditEntryId: null,
    };
    if (!doDelete || unreferenced.length === 0) return report;

    let failure: unknown;
    await withTableLocks(async (tx) => {
      const stillReferenced = await repo.findReferencedAmong({ tx, keys: unreferenced.map((b) => b.sha256) });
      const rescued = unreferenced.filter((b) => stillReferenced.has(b.sha256));
      const deleted: Listed[] = [];
      for (const b of unreferenced) {
        if (stillReferenced.has(b.sha256)) continue;
        try {
          if (await blobs.delete(b.sha256)) deleted.push(b);
        } catch (err) {
          // Keep what is already gone on the record: the audit entry below still lists it.
          failure = err;
          break;
        }
      }
      report.rescued = sum(rescued);
      report.deleted = sum(deleted);
      if (deleted.length === 0) return;
      report.digest = digestOfKeys(deleted.map((b) => b.sha256));
      const entry = await writeAudit(tx, input.actor, deleted, report, failure);
      report.auditEntryId = entry.id;
    });
    if (failure !== undefined) {
      throw new AppError(
        'UNAVAILABLE',
        `gc stopped after deleting ${report.deleted.count} blobs (audited): ${(failure as Error).message ?? failure}`,
        { deleted: report.deleted.count },
      );
    }
    return report;
  }

  /** Runs fn in a transaction holding the reference-table locks, retrying while writers hold them. */
  async function withTableLocks(fn: (tx: Tx) => Promise<void>): Promise<void> {
    // The failed NOWAIT aborted the PostgreSQL transaction: it must roll back, so the callback throws this.
    const busy = new Error('reference tables busy');
    for (let attempt = 0; ; attempt++) {
      try {
        await inTransaction(db, async (tx) => {
          if (!(await repo.lockReferenceTables({ tx, dialect }))) throw busy;
          await fn(tx);
        });
        return;
      } catch (err) {
        if (err !== busy) throw err;
      }
      if (attempt >= LOCK_ATTEMPTS) {
        throw new ConflictError('gc could not lock the reference tables: writers kept them busy; try again');
      }
      await sleep(Math.min(500, 10 * 2 ** attempt));
    }
  }

  async function writeAudit(
    tx: Executor,
    actor: string,
    deleted: Listed[],
    report: GcReport,
    failure: unknown,
  ) {
    const keys = deleted.map((b) => b.sha256);
    return audit.append(tx, {
      actor,
      action: 'blobs.gc',
      entityType: 'blob_store',
      entityId: blobs.kind,
      before: { blobs: keys },
      after: { blobs: [] },
      details: {
        count: report.deleted.count,
        bytes: report.deleted.bytes,
        digest: report.digest,
        graceSeconds: report.graceSeconds,
        keys: keys.slice(0, AUDIT_KEY_LIMIT),
        ...(keys.length > AUDIT_KEY_LIMIT ? { keysTruncated: true } : {}),
        ...(report.rescued.count > 0 ? { rescued: report.rescued.count } : {}),
        ...(failure !== undefined ? { error: String((failure as Error).message ?? failure) } : {}),
      },
    });
  }

  return { run };
}

/** sha256 of the sorted keys, one per line: lets a reader check an audit entry against a list of keys. */
export function digestOfKeys(keys: string[]): string {
  return sha256Hex([...keys].sort().join('\n'));
}

export type GarbageCollector = ReturnType<typeof createGarbageCollector>;
