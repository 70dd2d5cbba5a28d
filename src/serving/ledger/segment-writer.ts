import { existsSync } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BlobStore } from '../../blobs/index.js';
import type { Clock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import type { Logger } from '../../core/logger.js';
import type { Db } from '../../store/index.js';
import type { LedgerWriter } from './ledger-writer.js';
import type { PackedEntry } from './prediction-row.js';
import { insertOpenSegment, listOpenSegments, markSegmentSealed, type SegmentRow } from './segment.repo.js';
import {
  cutTornTail,
  encodeFrame,
  openSegmentAppender,
  readSegmentFile,
  type SegmentAppender,
} from './segment-file.js';
import { rowsOfGroups, sealRowsToBlob } from './segment-parquet.js';

/*
 * The segment writer of the prediction ledger: a group commit is one frame appended to the open
 * segment file of the deployment, then one fdatasync; no database row per prediction. The index row of
 * a segment is written when it opens and when it is sealed.
 *
 * A segment that reached maxRows rows or maxAgeMs of age is sealed after the commit that crossed the
 * line: the next group opens a new segment at once, and the full one becomes a Parquet blob in the
 * background (its rows stay readable from its file until its index row says sealed). Sealing writes
 * the blob, then marks the row sealed, then deletes the file: a crash between any two steps leaves an
 * open row whose file is still there, and recovery seals it again (the blob put is idempotent).
 *
 * Recovery: when a writer opens, the open segments its host left for the deployment (a kill -9, a
 * failed seal) are cut to their last whole frame and sealed; segments another live writer of this
 * process appends to are left alone.
 */

export interface SegmentLogOptions {
  db: Db;
  blobs: BlobStore;
  clock: Clock;
  /** The folder of open segment files (local disk). */
  dir: string;
  /** Rows after which a segment is sealed (default 100,000). */
  maxRows?: number;
  /** Age after which a segment is sealed at its next commit or on close (default 10 minutes). */
  maxAgeMs?: number;
  logger?: Logger | undefined;
  /**
   * The segments writers of this process append to (default: the process-wide set); recovery leaves
   * them alone. A test passes a new set to act as a freshly started process.
   */
  live?: Set<string>;
}

/** The host name recorded with an open segment: recovery seals only its own host's files. */
export const SEGMENT_HOST = os.hostname();

/** Segments some writer of this process appends to right now (recovery must not seal those). */
const liveInProcess = new Set<string>();

interface OpenSegment {
  id: string;
  file: string;
  appender: SegmentAppender;
  rows: number;
  createdAt: number;
}

/** Seals one open segment from its file: blob, index row, then the file goes. */
export async function sealSegmentFile(
  o: Pick<SegmentLogOptions, 'db' | 'blobs' | 'clock'>,
  id: string,
  file: string,
): Promise<number> {
  const contents = existsSync(file) ? readSegmentFile(file) : { groups: [], validBytes: 0, torn: false };
  const rows = rowsOfGroups(contents.groups);
  const summary = await sealRowsToBlob(rows, o.blobs);
  await markSegmentSealed({ tx: o.db, id, summary, sealedAt: o.clock.now() });
  await unlink(file).catch(() => {});
  return rows.length;
}

/** Seals the open segments this host left for a deployment (all deployments when undefined). */
export async function recoverOpenSegments(
  o: Pick<SegmentLogOptions, 'db' | 'blobs' | 'clock' | 'logger' | 'live'>,
  deploymentId?: string,
): Promise<{ segments: number; rows: number }> {
  const live = o.live ?? liveInProcess;
  const open = await listOpenSegments({ tx: o.db, host: SEGMENT_HOST, deploymentId });
  let segments = 0;
  let rows = 0;
  for (const s of open as SegmentRow[]) {
    if (live.has(s.id) || !s.path) continue;
    if (existsSync(s.path)) await cutTornTail(s.path, readSegmentFile(s.path));
    rows += await sealSegmentFile(o, s.id, s.path);
    segments++;
  }
  if (segments > 0)
    o.logger?.info({ segments, rows, deploymentId }, 'prediction log: recovered open segments');
  return { segments, rows };
}

/** A LedgerWriter appending to segments of one deployment. */
export function segmentWriter(opts: SegmentLogOptions & { deploymentId: string }): LedgerWriter {
  const maxRows = Math.max(1, opts.maxRows ?? 100_000);
  const maxAgeMs = Math.max(1, opts.maxAgeMs ?? 600_000);
  const log = opts.logger;
  const live = opts.live ?? liveInProcess;
  let current: OpenSegment | undefined;
  /** Seals run one after another, off the commit path. */
  let sealing: Promise<void> = Promise.resolve();
  const recovered = recoverOpenSegments(opts, opts.deploymentId).then(
    () => {},
    (err) =>
      log?.warn({ err }, 'prediction log: recovery of open segments failed; retried at the next start'),
  );

  const openNew = async (): Promise<OpenSegment> => {
    await mkdir(opts.dir, { recursive: true });
    const createdAt = opts.clock.now();
    const id = newId('pseg', createdAt);
    const file = path.join(path.resolve(opts.dir), `${id}.seg`);
    live.add(id);
    try {
      const appender = await openSegmentAppender(file);
      // The index row before the first frame: a file no row names would never be recovered.
      await insertOpenSegment({
        tx: opts.db,
        id,
        deploymentId: opts.deploymentId,
        path: file,
        host: SEGMENT_HOST,
        createdAt,
      });
      return { id, file, appender, rows: 0, createdAt };
    } catch (err) {
      live.delete(id);
      await unlink(file).catch(() => {});
      throw err;
    }
  };

  const seal = (s: OpenSegment) => {
    sealing = sealing.then(async () => {
      try {
        await s.appender.close();
        await sealSegmentFile(opts, s.id, s.file);
      } catch (err) {
        log?.warn(
          { err, segment: s.id },
          'prediction log: sealing failed; the segment stays open and is sealed at recovery',
        );
      } finally {
        live.delete(s.id);
      }
    });
  };

  return {
    async write(entries: PackedEntry[]) {
      current ??= await openNew();
      const s = current;
      await s.appender.append(encodeFrame(entries));
      for (const e of entries) s.rows += e[0] as number;
      if (s.rows >= maxRows || opts.clock.now() - s.createdAt >= maxAgeMs) {
        current = undefined;
        seal(s);
      }
    },
    async close() {
      const s = current;
      current = undefined;
      if (s) seal(s);
      await sealing;
      await recovered;
    },
  };
}
