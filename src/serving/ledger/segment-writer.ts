import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type AuditLog, SEGMENT_SEAL_ACTION } from '../../audit/index.js';
import type { BlobStore } from '../../blobs/index.js';
import type { Clock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import { type Db, inTransaction } from '../../store/index.js';
import type { LedgerWriter } from './ledger-writer.js';
import { entryDeployment, type PackedEntry } from './prediction-row.js';
import { DEFAULT_SEAL_PACING, type SealPacing, untilQuiet } from './seal-pacing.js';
import { insertOpenSegment, listOpenSegments, markSegmentSealed, type SegmentRow } from './segment.repo.js';
import { cutTornTail, encodeFrame, openSegmentAppender, type SegmentAppender } from './segment-file.js';
import { acquireSegmentSealer, type SealBuild, type SegmentSealer } from './segment-sealer.js';

/*
 * The segment writer of the prediction ledger: a group commit is one frame appended to the open
 * segment file of the deployment, on disk when the append resolves (segment-file.ts); no database row
 * per prediction. The index row of a segment is written when it opens and when it is sealed.
 *
 * A segment that reached maxRows rows or maxAgeMs of age is sealed after the commit that crossed the
 * line: the next group opens a new segment at once, and the full one becomes a Parquet blob in the
 * background (its rows stay readable from its file until its index row says sealed). Decoding the
 * file and writing the Parquet file run in the process's seal thread (segment-sealer.ts), so a seal
 * never holds up the requests on the event loop. Sealing writes
 * the blob, then marks the row sealed, then deletes the file: a crash between any two steps leaves an
 * open row whose file is still there, and recovery seals it again (the blob put is idempotent).
 *
 * Recovery: when a writer opens, the open segments its host left (a kill -9, a failed seal) are cut
 * to their last whole frame and sealed; segments another live writer of this process appends to are
 * left alone.
 */

/** How the prediction log is kept (config.predictionLog): 'segments' or the old 'table'. */
export interface PredictionLogConfig {
  storage: 'table' | 'segments';
  /** The folder of open segment files (local disk) and the cache of sealed ones. */
  dir: string;
  maxRows: number;
  maxAgeMs: number;
}

export interface SegmentLogOptions {
  db: Db;
  blobs: BlobStore;
  /** A sealed segment's audit entry (its blob, rows and ranges) is written with its index row. */
  audit: Pick<AuditLog, 'append'>;
  clock: Clock;
  /** The folder of open segment files (local disk). */
  dir: string;
  /** Rows after which a segment is sealed (default 100,000). */
  maxRows?: number;
  /** Age after which a segment is sealed at its next commit or on close (default 10 minutes). */
  maxAgeMs?: number;
  logger?: Logger | undefined;
  /** When closed segments are sealed while the server is busy (seal-pacing.ts); null seals at once. */
  pacing?: SealPacing | null;
  /**
   * The segments writers of this process append to (default: the process-wide set); recovery leaves
   * them alone. A test passes a new set to act as a freshly started process.
   */
  live?: Set<string>;
}

/** The host name recorded with an open segment: only its host can read its file or recover it. */
export const SEGMENT_HOST = os.hostname();
/** What an open segment's row records as its owner: `<host>/<pid>`. */
const OWNER = `${SEGMENT_HOST}/${process.pid}`;

/** The host of an owner `<host>/<pid>`. */
export const hostOf = (owner: string): string => owner.slice(0, owner.lastIndexOf('/'));

/**
 * Whether the process that owns an open segment may still append to it: this process (the live set
 * decides), or another process of this host that is still running (a reused pid keeps a segment open
 * until that process ends: safe, merely late).
 */
function ownerAlive(owner: string, live: Set<string>, id: string): boolean {
  const pid = Number(owner.slice(owner.lastIndexOf('/') + 1));
  if (pid === process.pid) return live.has(id);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Segments some writer of this process appends to right now (recovery must not seal those). */
const liveInProcess = new Set<string>();

interface OpenSegment {
  id: string;
  file: string;
  appender: SegmentAppender;
  rows: number;
  createdAt: number;
}

/**
 * Seals one open segment from its file: blob, then index row + audit entry (one transaction), then
 * the file goes. The entry names the blob (content-addressed: its key is the sha256 of the Parquet
 * file), so the audit chain covers every sealed prediction. The file is decoded and its Parquet file
 * written in the seal thread; storing, committing and deleting (async I/O) stay here, in that order.
 */
export async function sealSegmentFile(
  o: Pick<SegmentLogOptions, 'db' | 'blobs' | 'clock' | 'audit'> & { sealer: SegmentSealer },
  id: string,
  file: string,
): Promise<SealBuild> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-seal-'));
  try {
    const built = await o.sealer.build(file, dir);
    // A torn tail (a crash mid-append) was left out of the rows; the file is cut to what they hold.
    if (built.torn && existsSync(file)) await cutTornTail(file, { groups: [], ...built });
    let summary = built.summary;
    if (built.parquet !== undefined) {
      // Stored from the file in chunks: hashing it never holds the event loop for long.
      const info = await o.blobs.putFile(built.parquet);
      summary = { ...summary, blobKey: info.sha256, bytes: info.size };
    }
    await inTransaction(o.db, async (tx) => {
      const sealed = await markSegmentSealed({ tx, id, summary, sealedAt: o.clock.now() });
      // Already sealed by another process: its entry is written.
      if (!sealed) return;
      await o.audit.append(tx, {
        actor: 'system',
        action: SEGMENT_SEAL_ACTION,
        entityType: 'prediction_log',
        entityId: id,
        details: { ...summary },
      });
    });
    await unlink(file).catch(() => {});
    return { ...built, summary };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Seals the open segments this host left for a deployment (all deployments when undefined). */
export async function recoverOpenSegments(
  o: Pick<SegmentLogOptions, 'db' | 'blobs' | 'clock' | 'audit' | 'logger' | 'live'> & {
    sealer: SegmentSealer;
    /** Awaited before each seal, given how many segments are left to look at (seal pacing). */
    quiet?: ((left: number) => Promise<void>) | undefined;
  },
  deploymentId?: string,
): Promise<{ segments: number; rows: number }> {
  const live = o.live ?? liveInProcess;
  const open = await listOpenSegments({ tx: o.db, host: SEGMENT_HOST, deploymentId });
  let segments = 0;
  let rows = 0;
  for (const [i, s] of (open as SegmentRow[]).entries()) {
    if (!s.path || live.has(s.id) || ownerAlive(s.host, live, s.id)) continue;
    if (o.quiet) {
      await o.quiet(open.length - i);
      if (live.has(s.id)) continue;
    }
    // Claimed while sealed, so two ledgers of this process starting together do not both seal it.
    live.add(s.id);
    try {
      rows += (await sealSegmentFile(o, s.id, s.path)).summary.rowCount;
      segments++;
    } catch (err) {
      // One segment that cannot be sealed (a file this version cannot read) does not hold up the rest.
      o.logger?.warn(
        { err, segment: s.id },
        'prediction log: an open segment could not be sealed; it stays open for the next recovery',
      );
    } finally {
      live.delete(s.id);
    }
  }
  if (segments > 0)
    o.logger?.info({ segments, rows, deploymentId }, 'prediction log: recovered open segments');
  return { segments, rows };
}

/**
 * A LedgerWriter appending to segments: one open segment per deployment (a server's ledger serves one
 * deployment; a group holding several appends one frame to each of their segments).
 */
export function segmentWriter(opts: SegmentLogOptions): LedgerWriter {
  const maxRows = Math.max(1, opts.maxRows ?? 100_000);
  const maxAgeMs = Math.max(1, opts.maxAgeMs ?? 600_000);
  const log = opts.logger;
  const live = opts.live ?? liveInProcess;
  const current = new Map<string, OpenSegment>();
  const sealer = acquireSegmentSealer();
  /** Seals run one after another, off the commit path (and their CPU work off the event loop). */
  let sealing: Promise<void> = Promise.resolve();
  const pacing = opts.pacing === undefined ? DEFAULT_SEAL_PACING : opts.pacing;
  /** Closed segments not sealed yet; once the writer closes (aborted), none waits. */
  let waiting = 0;
  const closing = new AbortController();
  const quietWait = { waiting: () => waiting, closed: closing.signal };
  const recovered = recoverOpenSegments({
    ...opts,
    sealer,
    // A start after a kill may find several segments: sealed while the server is quiet, as above.
    quiet: pacing ? (left) => untilQuiet(pacing, { ...quietWait, waiting: () => waiting + left }) : undefined,
  }).then(
    () => {},
    (err) =>
      log?.warn({ err }, 'prediction log: recovery of open segments failed; retried at the next start'),
  );

  const openNew = async (deploymentId: string): Promise<OpenSegment> => {
    await mkdir(opts.dir, { recursive: true });
    const createdAt = opts.clock.now();
    const id = newId('pseg', createdAt);
    const file = path.join(path.resolve(opts.dir), `${id}.seg`);
    live.add(id);
    try {
      const appender = await openSegmentAppender(file);
      // The index row before the first frame: a file no row names would never be recovered.
      await insertOpenSegment({ tx: opts.db, id, deploymentId, path: file, host: OWNER, createdAt });
      return { id, file, appender, rows: 0, createdAt };
    } catch (err) {
      live.delete(id);
      await unlink(file).catch(() => {});
      throw err;
    }
  };

  const seal = (s: OpenSegment) => {
    waiting++;
    sealing = sealing.then(async () => {
      try {
        await s.appender.close();
        if (pacing) await untilQuiet(pacing, quietWait);
        await sealSegmentFile({ ...opts, sealer }, s.id, s.file);
      } catch (err) {
        log?.warn(
          { err, segment: s.id },
          'prediction log: sealing failed; the segment stays open and is sealed at recovery',
        );
      } finally {
        waiting--;
        live.delete(s.id);
      }
    });
  };

  const appendTo = async (deploymentId: string, entries: PackedEntry[]) => {
    let s = current.get(deploymentId);
    if (!s) {
      s = await openNew(deploymentId);
      current.set(deploymentId, s);
    }
    await s.appender.append(encodeFrame(entries));
    for (const e of entries) s.rows += e.rows;
    if (s.rows >= maxRows || opts.clock.now() - s.createdAt >= maxAgeMs) {
      current.delete(deploymentId);
      seal(s);
    }
  };

  return {
    async write(entries: PackedEntry[]) {
      const first = entries[0]?.deploymentId;
      if (first === undefined) return;
      if (entries.every((e) => e.deploymentId === first)) return appendTo(first, entries);
      const byDeployment = new Map<string, PackedEntry[]>();
      for (const e of entries) {
        const d = entryDeployment(e);
        byDeployment.set(d, [...(byDeployment.get(d) ?? []), e]);
      }
      for (const [d, group] of byDeployment) await appendTo(d, group);
    },
    async close() {
      closing.abort();
      for (const s of current.values()) seal(s);
      current.clear();
      await sealing;
      await recovered;
      await sealer.close();
    },
  };
}
