import {
  ENTRY_VERSION,
  HEADER_BYTES,
  LITTLE_ENDIAN,
  type PackedEntry,
  PoolEncoding,
  swapWords,
} from './entry-layout.js';

/*
 * The writing side of an entry's layout (entry-layout.ts): four growable scratch streams, reused from
 * one entry to the next (packing is synchronous), and the copy of them into the entry's bytes.
 */

const isWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;

/** The scratch streams of the entry being packed (reused: packing is synchronous). */
export class Streams {
  f = new Float64Array(4096);
  nf = 0;
  u = new Uint32Array(1024);
  nu = 0;
  b = new Uint8Array(1024);
  nb = 0;
  pool = '';

  reset(): void {
    this.nf = 0;
    this.nu = 0;
    this.nb = 0;
    this.pool = '';
  }
  num(v: number): void {
    if (this.nf === this.f.length) this.f = grown(this.f, new Float64Array(this.f.length * 2));
    this.f[this.nf++] = v;
  }
  word(v: number): void {
    if (this.nu === this.u.length) this.u = grown(this.u, new Uint32Array(this.u.length * 2));
    this.u[this.nu++] = v;
  }
  byte(v: number): void {
    if (this.nb === this.b.length) this.b = grown(this.b, new Uint8Array(this.b.length * 2));
    this.b[this.nb++] = v;
  }
  /** `count` numbers of `from` starting at `at`, in one copy. */
  nums(from: Float64Array, at: number, count: number): void {
    if (this.nf + count > this.f.length) {
      let size = this.f.length * 2;
      while (size < this.nf + count) size *= 2;
      this.f = grown(this.f, new Float64Array(size));
    }
    const f = this.f;
    // A loop, not set(subarray()): columns are short (a request's records), and a view costs more.
    for (let i = 0, to = this.nf; i < count; i++) f[to + i] = from[at + i] as number;
    this.nf += count;
  }
  str(s: string): void {
    this.word(s.length);
    this.pool += s;
  }
}

function grown<T extends Float64Array | Uint32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** The header's words, copied in as bytes (little-endian hosts; swapped on others). */
const header = new Uint32Array(HEADER_BYTES / 4);
const headerBytes = new Uint8Array(header.buffer);
/** The last deployment id and its UTF-8 length. */
let lastId = { id: '', bytes: 0 };

/** The streams as one entry's bytes. */
export function finishEntry(s: Streams, rows: number, deploymentId: string): PackedEntry {
  // The deployment id opens the pool: one string, written by one call.
  const pool = deploymentId + s.pool;
  const utf8 = isWellFormed?.call(pool) === true;
  const poolBytes = utf8 ? Buffer.byteLength(pool, 'utf8') : pool.length * 2;
  if (lastId.id !== deploymentId)
    lastId = { id: deploymentId, bytes: Buffer.byteLength(deploymentId, 'utf8') };
  const idBytes = utf8 ? lastId.bytes : deploymentId.length * 2;
  if (idBytes > 0xffff) throw new Error('a deployment id longer than 32,767 characters cannot be logged');
  const f64At = HEADER_BYTES;
  const u32At = f64At + s.nf * 8;
  const u8At = u32At + s.nu * 4;
  const poolAt = u8At + s.nb;
  // Node's pool for a small entry, a buffer of its own for a larger one (a slab of our own, tried,
  // cost more: fresh memory each time, where freed buffers are reused while still in cache).
  const bytes = Buffer.allocUnsafe(poolAt + poolBytes);
  header[0] = ENTRY_VERSION | ((utf8 ? PoolEncoding.Utf8 : PoolEncoding.Utf16) << 8) | (idBytes << 16);
  header[1] = rows;
  header[2] = s.nf;
  header[3] = s.nu;
  header[4] = s.nb;
  header[5] = poolBytes;
  header[6] = pool.length;
  header[7] = deploymentId.length;
  bytes.set(headerBytes, 0);
  bytes.set(new Uint8Array(s.f.buffer, 0, s.nf * 8), f64At);
  bytes.set(new Uint8Array(s.u.buffer, 0, s.nu * 4), u32At);
  if (!LITTLE_ENDIAN) {
    swapWords(bytes.subarray(0, f64At), 4);
    swapWords(bytes.subarray(f64At, u32At), 8);
    swapWords(bytes.subarray(u32At, u8At), 4);
  }
  bytes.set(new Uint8Array(s.b.buffer, 0, s.nb), u8At);
  bytes.write(pool, poolAt, poolBytes, utf8 ? 'utf8' : 'utf16le');
  s.pool = '';
  return { rows, deploymentId, bytes };
}
