import type { Readable } from 'node:stream';
import { ValidationError } from '../core/errors.js';
import { isSha256Hex } from '../core/hashing.js';

/** What the store knows about one blob: its key (sha256 of the bytes, lowercase hex) and its size. */
export interface BlobInfo {
  sha256: string;
  size: number;
  /**
   * When the blob was last written (ms), where list() knows it. A put of content already stored
   * refreshes it on the folder store, so gc's grace period also covers a deduplicated upload.
   */
  modifiedAt?: number;
}

/** What `put` accepts: a stream of bytes, bytes, or a string (stored as UTF-8). */
export type BlobSource = Readable | AsyncIterable<Uint8Array | string> | Uint8Array | string;

export interface PutFilesOptions {
  /** Called as each file is stored (not yet durable: that comes when putFiles resolves). */
  onStored?: (index: number, info: BlobInfo) => void;
}

/**
 * A content-addressed store: a blob's key is the sha256 of its bytes, so a key names exactly one
 * content forever and the same content is stored once. Reads verify the bytes against the key.
 */
export interface BlobStore {
  readonly kind: 'file' | 's3';
  /**
   * Streams bytes in and returns their sha256 and size. Idempotent; never holds the whole content in
   * memory. A stored blob under the same key that does not hash to it (damage) is replaced: a verified
   * upload of the right bytes repairs it.
   */
  put(source: BlobSource): Promise<BlobInfo>;
  /** Stores a local file; the folder store copies it in the kernel while hashing, one pass over a big file. */
  putFile(filePath: string): Promise<BlobInfo>;
  /**
   * Stores many local files (results in input order). Resolves only once every one of them would survive
   * a crash, so the caller may then commit records that point at them; the folder store makes them durable
   * together (each file's bytes as it lands, each folder once at the end) instead of one by one.
   */
  putFiles(filePaths: string[], opts?: PutFilesOptions): Promise<BlobInfo[]>;
  /**
   * A stream of the blob that verifies the hash while streaming: bytes that do not match the key make the
   * stream fail with IntegrityError before it ends. Throws NotFoundError if absent.
   */
  get(sha256: string): Promise<Readable>;
  /**
   * A stream of bytes that were verified whole before this resolves: a corrupted blob rejects with
   * IntegrityError before anything is handed out (what an HTTP reply needs: its status and length are
   * sent with the first byte). Costs a pre-check pass or a spool for large blobs (verified-read.ts).
   */
  getVerified(sha256: string): Promise<Readable>;
  /** Reads the whole blob and verifies it; for small blobs. */
  getBytes(sha256: string): Promise<Buffer>;
  /** Size of a stored blob, or undefined if absent. */
  stat(sha256: string): Promise<BlobInfo | undefined>;
  has(sha256: string): Promise<boolean>;
  /** Removes a blob; true if it existed. Only the explicit, audited gc may call this. */
  delete(sha256: string): Promise<boolean>;
  /** Every stored blob, in no particular order; for gc. */
  list(): AsyncIterable<BlobInfo>;
  close(): Promise<void>;
}

/**
 * Rejects anything but 64 lowercase hex characters. Every backend calls this before a key becomes a path
 * or an object name, so no key can climb out of the store (`../`), alias another one (case), or be empty.
 */
export function assertBlobKey(sha256: unknown): asserts sha256 is string {
  if (typeof sha256 !== 'string' || !isSha256Hex(sha256)) {
    const shown = typeof sha256 === 'string' ? sha256.slice(0, 80) : typeof sha256;
    throw new ValidationError(`blob key must be a 64-character lowercase hex sha256, got '${shown}'`, {
      field: 'sha256',
    });
  }
}

/**
 * The shard path of a key, `ab/cd/<sha256>`. Both backends use it, so a folder store can be copied into
 * a bucket (or back) with any sync tool and keep working.
 */
export function shardedKey(sha256: string): string {
  assertBlobKey(sha256);
  return `${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}
