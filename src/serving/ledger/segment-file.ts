import { closeSync, constants, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { type FileHandle, open, truncate } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { decodeGroup, encodeGroup } from './entry-group.js';
import type { LegacyEntry, PackedEntry, StoredEntry } from './prediction-row.js';

/*
 * The on-disk format of an open segment of the prediction log: a magic header, then one frame per
 * committed group:
 *     [u32 LE payload length][u32 LE crc32 of the payload][payload: the group's binary entries]
 * The payload is the group as the ledger packed it (entry-group.ts), written without re-encoding.
 * SXPLOG01 files (the previous version: payload = UTF-8 JSON of the group's legacy entries) are still
 * read, so an open segment left by an older process is recovered and sealed; nothing appends to them.
 * A group is acknowledged only after its frame is written and synced (the file is open with O_DSYNC:
 * each write returns once its data is on disk, as a write + fdatasync would), so every acknowledged
 * group is a whole, checksummed frame. A crash (kill -9, power loss) can leave at most a torn last
 * frame: a short length, short payload or a checksum that does not match. Reading stops at the first
 * frame that does not check out; recovery cuts the file there (nothing after it was acknowledged).
 */

export const SEGMENT_MAGIC = Buffer.from('SXPLOG02', 'latin1');
/** The previous version's magic: frames of JSON (read only). */
export const LEGACY_SEGMENT_MAGIC = Buffer.from('SXPLOG01', 'latin1');
const FRAME_HEADER = 8;

/** Encodes one group as a frame. */
export function encodeFrame(entries: readonly PackedEntry[]): Buffer {
  const frame = encodeGroup(entries, FRAME_HEADER);
  const payload = frame.subarray(FRAME_HEADER);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  return frame;
}

/** Encodes one group of legacy entries as an SXPLOG01 frame (tests of the upgrade path). */
export function encodeLegacyFrame(entries: readonly LegacyEntry[]): Buffer {
  const payload = Buffer.from(JSON.stringify(entries), 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER);
  return frame;
}

export interface SegmentContents {
  /** The groups of every whole frame, in order (legacy entries in an SXPLOG01 file). */
  groups: StoredEntry[][];
  /** Bytes up to the end of the last whole frame (the file's length after a cut). */
  validBytes: number;
  /** True when bytes follow the last whole frame (a torn tail, or damage). */
  torn: boolean;
}

/**
 * Decodes the frames of a segment file's bytes, stopping at the first one that is short or fails its
 * checksum (a torn tail). A whole frame that does not decode, or an unknown header, throws instead.
 */
export function decodeSegment(bytes: Buffer): SegmentContents {
  if (bytes.length < SEGMENT_MAGIC.length)
    // A file cut inside its header holds no frame: nothing in it was acknowledged.
    return { groups: [], validBytes: 0, torn: bytes.length > 0 };
  const magic = bytes.subarray(0, SEGMENT_MAGIC.length);
  const legacy = magic.equals(LEGACY_SEGMENT_MAGIC);
  // A whole header this version does not know (a newer release's file, after a downgrade) is not a
  // torn file: cutting it would erase acknowledged predictions. It stays as it is, open.
  if (!legacy && !magic.equals(SEGMENT_MAGIC))
    throw new Error(
      `not a segment file this version can read (header '${magic.toString('latin1').replace(/[^\x20-\x7e]/g, '?')}')`,
    );
  const groups: StoredEntry[][] = [];
  let at = SEGMENT_MAGIC.length;
  while (at + FRAME_HEADER <= bytes.length) {
    const length = bytes.readUInt32LE(at);
    const sum = bytes.readUInt32LE(at + 4);
    const end = at + FRAME_HEADER + length;
    if (end > bytes.length) break;
    const payload = bytes.subarray(at + FRAME_HEADER, end);
    if (crc32(payload) !== sum) break;
    // A frame whose checksum holds was written whole: one that does not decode is not a torn tail
    // (a newer entry version, or a bug) and must not be cut away; the error leaves the segment open.
    let group: StoredEntry[];
    try {
      group = legacy ? (JSON.parse(payload.toString('utf8')) as LegacyEntry[]) : decodeGroup(payload);
    } catch (err) {
      throw new Error(`segment frame at byte ${at} does not decode: ${(err as Error).message}`);
    }
    groups.push(group);
    at = end;
  }
  return { groups, validBytes: at, torn: at < bytes.length };
}

/** Reads a segment file (whole frames only; a torn tail is left out, not cut). */
export function readSegmentFile(file: string): SegmentContents {
  return decodeSegment(readFileSync(file));
}

/** Cuts a torn tail off a segment file (an empty or headerless file gets its header back), fsynced. */
export async function cutTornTail(file: string, contents: SegmentContents): Promise<void> {
  if (!contents.torn && contents.validBytes > 0) return;
  if (contents.validBytes === 0) {
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, SEGMENT_MAGIC);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return;
  }
  await truncate(file, contents.validBytes);
  const h = await open(file, 'r+');
  try {
    await h.datasync();
  } finally {
    await h.close();
  }
}

/*
 * On Linux appends are written through O_DSYNC: the write returns once the data is on disk, one call
 * to the thread pool where a write and an fdatasync took two (and two turns of a busy event loop: a
 * commit's latency is what durable replies wait for). Only there: macOS has the flag, but its O_DSYNC
 * write leaves the data in the drive's cache, where libuv's fdatasync is an F_FULLFSYNC; so elsewhere
 * each write is followed by fdatasync.
 */
export const SEGMENT_SYNCED_WRITES = process.platform === 'linux' && constants.O_DSYNC !== undefined;
const DSYNC: number | undefined = SEGMENT_SYNCED_WRITES ? constants.O_DSYNC : undefined;

/** An open segment file, appended to one frame at a time; each append is on disk when it resolves. */
export interface SegmentAppender {
  readonly file: string;
  /** Bytes written so far (header included). */
  readonly size: number;
  /** One synced write (O_DSYNC), or one write + one fdatasync. */
  append(frame: Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * Creates a new segment file (its header fsynced, with the folder entry) or opens an existing one
 * (already cut to its last whole frame) for appending.
 */
export async function openSegmentAppender(file: string, existingBytes?: number): Promise<SegmentAppender> {
  let handle: FileHandle;
  let size: number;
  if (existingBytes === undefined) {
    handle = await open(
      file,
      DSYNC === undefined ? 'wx' : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | DSYNC,
    );
    await handle.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
    await handle.sync();
    // The new file's directory entry must survive a crash too.
    const dir = await open(file.slice(0, file.lastIndexOf('/')) || '/', 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    size = SEGMENT_MAGIC.length;
  } else {
    handle = await open(file, DSYNC === undefined ? 'r+' : constants.O_RDWR | DSYNC);
    size = existingBytes;
    const magic = Buffer.alloc(SEGMENT_MAGIC.length);
    await handle.read(magic, 0, magic.length, 0);
    if (!magic.equals(SEGMENT_MAGIC)) {
      await handle.close();
      // A segment of the previous version (JSON frames) is sealed as it is, never appended to.
      throw new Error(
        `${file} is not a segment of this version (${magic.toString('latin1')}); it cannot be appended to`,
      );
    }
  }
  return {
    file,
    get size() {
      return size;
    },
    async append(frame) {
      // Positional write at the end we know: a failed, partial write is overwritten by the next one.
      let done = 0;
      while (done < frame.length) {
        const { bytesWritten } = await handle.write(frame, done, frame.length - done, size + done);
        done += bytesWritten;
      }
      if (DSYNC === undefined) await handle.datasync();
      size += frame.length;
    },
    close: () => handle.close(),
  };
}
