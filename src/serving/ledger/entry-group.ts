import { entryDeploymentOf, type PackedEntry, readHeader } from './entry-layout.js';

/*
 * A group commit's entries as one buffer: what a segment frame holds and what the SQLite writer
 * thread receives (transferred, not cloned). Each entry starts 8-aligned from the group's start, so a
 * group in a buffer of its own is read in place:
 *     [u32 LE entries][u32 LE bytes of each entry][padding to 8][entry, padded to 8]...
 */

const pad8 = (n: number) => (n + 7) & ~7;

/**
 * The entries as one buffer, after `headroom` bytes left for the caller (a frame's header). The buffer
 * is its own ArrayBuffer (never a slice of Node's shared pool), so it can be transferred.
 */
export function encodeGroup(entries: readonly PackedEntry[], headroom = 0): Buffer {
  let size = pad8(4 + 4 * entries.length);
  for (const e of entries) size += pad8(e.bytes.length);
  const out = Buffer.allocUnsafeSlow(headroom + size);
  out.writeUInt32LE(entries.length, headroom);
  let at = headroom + pad8(4 + 4 * entries.length);
  // Padding is written as zeros (an unzeroed buffer would put stale memory on disk).
  out.fill(0, headroom + 4 + 4 * entries.length, at);
  for (let i = 0; i < entries.length; i++) {
    const b = (entries[i] as PackedEntry).bytes;
    out.writeUInt32LE(b.length, headroom + 4 + 4 * i);
    out.set(b, at);
    out.fill(0, at + b.length, at + pad8(b.length));
    at += pad8(b.length);
  }
  return out;
}

/** The entries of a group's bytes (views into them, not copies); a malformed group is an error. */
export function decodeGroup(bytes: Uint8Array): PackedEntry[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new Error('a group of packed entries without its count');
  const count = v.getUint32(0, true);
  let at = pad8(4 + 4 * count);
  if (at > bytes.length) throw new Error('a group of packed entries cut inside its lengths');
  const entries = new Array<PackedEntry>(count);
  for (let i = 0; i < count; i++) {
    const length = v.getUint32(4 + 4 * i, true);
    if (at + length > bytes.length) throw new Error('a group of packed entries cut inside an entry');
    const entry = bytes.subarray(at, at + length);
    const h = readHeader(entry);
    entries[i] = { rows: h.rows, deploymentId: entryDeploymentOf(entry, h), bytes: entry };
    at += pad8(length);
  }
  if (at !== pad8(bytes.length) && at !== bytes.length)
    throw new Error('a group of packed entries with bytes left over');
  return entries;
}
