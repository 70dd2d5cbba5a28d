import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { ValidationError } from '../../core/errors.js';

/*
 * A backup is a plain POSIX (ustar) tar file, so `tar tf backup.tar` lists it and any tar can unpack
 * it by hand. Only what backups need: regular files, names under 100 bytes, written in one pass
 * (sizes known up front) and read back by offset. Each file's sha256 is computed while it is written,
 * for the manifest.
 */

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  if (Buffer.byteLength(name) > 99) throw new Error(`tar entry name too long: ${name}`);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o600, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.floor(mtime / 1000), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** One file of an archive: where its bytes are, and their digest once written. */
export interface TarEntry {
  name: string;
  size: number;
  offset: number;
}

/** Writes a tar file entry by entry; `close()` writes the end marker and fsyncs. */
export async function openTarWriter(file: string) {
  const fh = await fs.promises.open(file, 'wx', 0o600);
  let position = 0;
  const write = async (buf: Uint8Array) => {
    await fh.write(buf, 0, buf.length, position);
    position += buf.length;
  };
  const pad = async (size: number) => {
    const rest = size % BLOCK;
    if (rest) await write(Buffer.alloc(BLOCK - rest, 0));
  };
  return {
    /** Adds a file of exactly `size` bytes from a stream or buffer; returns the sha256 of what was written. */
    async add(
      name: string,
      size: number,
      source: Readable | Uint8Array,
      mtime = Date.now(),
    ): Promise<string> {
      await write(header(name, size, mtime));
      const hash = createHash('sha256');
      let written = 0;
      const chunks = source instanceof Uint8Array ? [source] : source;
      for await (const chunk of chunks as AsyncIterable<Uint8Array> | Uint8Array[]) {
        written += chunk.length;
        if (written > size) throw new Error(`${name}: more than the ${size} bytes announced`);
        hash.update(chunk);
        await write(chunk);
      }
      if (written !== size) throw new Error(`${name}: ${written} bytes, ${size} announced`);
      await pad(size);
      return hash.digest('hex');
    },
    async close(): Promise<void> {
      await write(Buffer.alloc(BLOCK * 2, 0));
      await fh.sync();
      await fh.close();
    },
    /** Gives up: closes and removes the partial file. */
    async abort(): Promise<void> {
      await fh.close().catch(() => {});
      await fs.promises.rm(file, { force: true });
    },
  };
}

/** The entries of a tar file, by name, in order; a damaged header is a ValidationError naming the file. */
export async function readTarIndex(file: string): Promise<TarEntry[]> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const { size: total } = await fh.stat();
    const entries: TarEntry[] = [];
    const h = Buffer.alloc(BLOCK);
    for (let offset = 0; offset + BLOCK <= total; ) {
      await fh.read(h, 0, BLOCK, offset);
      if (h.every((b) => b === 0)) return entries;
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
      const stored = Number.parseInt(h.toString('ascii', 148, 156).replace(/[\0 ]/g, ''), 8);
      if (sum !== stored) throw notAnArchive(file, `bad header checksum at byte ${offset}`);
      const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
      const size = Number.parseInt(h.toString('ascii', 124, 136).replace(/[\0 ]/g, ''), 8);
      if (!Number.isSafeInteger(size) || offset + BLOCK + size > total)
        throw notAnArchive(file, `entry ${name} runs past the end of the file`);
      entries.push({ name, size, offset: offset + BLOCK });
      offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    }
    throw notAnArchive(file, 'it ends without the end-of-archive marker (truncated?)');
  } finally {
    await fh.close();
  }
}

function notAnArchive(file: string, why: string): ValidationError {
  return new ValidationError(`${file}: not a readable backup archive: ${why}`, { field: 'file' });
}

/** The bytes of one entry as a stream. */
export function readTarEntry(file: string, entry: TarEntry): Readable {
  if (entry.size === 0) return Readable.from([]);
  return fs.createReadStream(file, { start: entry.offset, end: entry.offset + entry.size - 1 });
}

/** The sha256 of one entry's bytes. */
export async function digestTarEntry(file: string, entry: TarEntry): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of readTarEntry(file, entry)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
