import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmod,
  copyFile,
  type FileHandle,
  constants as fsConstants,
  lstat,
  open,
  rm,
  stat,
} from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, ValidationError } from '../core/errors.js';
import type { BlobInfo, BlobSource } from './blob-store.js';

/** A temp file holding a hashed copy of the source; `discard` is safe to call more than once. */
export interface SpooledFile extends BlobInfo {
  path: string;
  discard(): Promise<void>;
}

/**
 * Copies the source into a fresh file in `dir` while hashing it, then fsyncs the file. The key of a blob is
 * unknown until its last byte is read, so both backends land the bytes here first; memory stays at one chunk.
 */
export async function spoolToTempFile(source: BlobSource, dir: string, mode = 0o600): Promise<SpooledFile> {
  const filePath = path.join(dir, `spool-${process.pid}-${randomBytes(12).toString('hex')}`);
  const discard = () => rm(filePath, { force: true });
  // 'wx': never reuse or follow whatever might already sit at that name.
  const handle = await open(filePath, 'wx', mode);
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of chunksOf(source)) {
      hash.update(chunk);
      size += chunk.length;
      await writeFully(handle, chunk);
    }
    await handle.sync();
    await handle.close();
    return { sha256: hash.digest('hex'), size, path: filePath, discard };
  } catch (err) {
    await handle.close().catch(() => {});
    await discard();
    throw err;
  }
}

/**
 * Copies a local file into a fresh file in `dir` with the kernel's copy (copy_file_range, or a reflink where
 * the file system has them) while a read of the source hashes it, so a large file costs about one pass.
 * The hash is of the source, so the source must not change meanwhile: its size, mtime and inode are
 * compared before and after, and a change fails the copy (reads verify every blob again anyway).
 */
export async function copyToTempFile(source: string, dir: string, mode = 0o600): Promise<SpooledFile> {
  const before = await lstat(source).catch(() => undefined);
  if (!before?.isFile()) throw notARegularFile(source);
  const filePath = path.join(dir, `copy-${process.pid}-${randomBytes(12).toString('hex')}`);
  const discard = () => rm(filePath, { force: true });
  try {
    const hash = createHash('sha256');
    let size = 0;
    // The copy usually finishes first; its fsync then overlaps the rest of the hashing.
    const copying = copyFile(source, filePath, fsConstants.COPYFILE_EXCL).then(async () => {
      await chmod(filePath, mode);
      const handle = await open(filePath, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    // Settled here so that a failing copy never goes unhandled while the hash loop is still reading.
    copying.catch(() => undefined);
    for await (const chunk of createReadStream(source, { highWaterMark: 4 * 1024 * 1024 })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    await copying;
    const after = await stat(source);
    const copied = await stat(filePath);
    if (
      after.size !== before.size ||
      after.mtimeMs !== before.mtimeMs ||
      after.ino !== before.ino ||
      copied.size !== size
    )
      throw new ConflictError(`'${source}' changed while it was being stored; try again`, { path: source });
    return { sha256: hash.digest('hex'), size, path: filePath, discard };
  } catch (err) {
    await discard();
    throw err;
  }
}

function notARegularFile(source: string): ValidationError {
  return new ValidationError(`'${source}' is not a regular file`, { field: 'path' });
}

async function* chunksOf(source: BlobSource): AsyncGenerator<Buffer> {
  if (typeof source === 'string') {
    yield Buffer.from(source, 'utf8');
    return;
  }
  if (source instanceof Uint8Array) {
    yield Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    return;
  }
  // A stream with setEncoding() yields strings; they are stored as UTF-8 like a string source.
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8');
    else yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

// write(2) may write less than asked (signals, nearly full disks); a short write must not shorten the blob.
async function writeFully(handle: FileHandle, buf: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buf.length) {
    const { bytesWritten } = await handle.write(buf, offset, buf.length - offset);
    offset += bytesWritten;
  }
}
