import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import { Readable } from 'node:stream';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { mapLimit } from '../core/concurrency.js';
import { IntegrityError, NotFoundError, ValidationError } from '../core/errors.js';
import { isSha256Hex } from '../core/hashing.js';
import { lazyRequire } from '../core/lazy-require.js';
import {
  type BlobInfo,
  type BlobSource,
  type BlobStore,
  type PutFilesOptions,
  shardedKey,
} from './blob-store.js';
import { uploadFileMultipart } from './s3-multipart.js';
import { type SpooledFile, spoolToTempFile } from './spool-file.js';
import { drainVerified, streamOf, VERIFY_IN_MEMORY_BYTES } from './verified-read.js';
import { readFully, verifyingStream } from './verifying-stream.js';

const s3 = lazyRequire<typeof import('@aws-sdk/client-s3')>('@aws-sdk/client-s3');

/** How to reach the bucket; everything left out comes from the standard AWS chain (env, profile, IMDS). */
export interface S3ConnectionOptions {
  /** For S3-compatible stores (MinIO, Ceph, R2, s3rver), e.g. "http://127.0.0.1:9000". */
  endpoint?: string;
  region?: string;
  credentials?: S3ClientConfig['credentials'];
  /** Bucket in the path rather than the host name; defaults to true when an endpoint is set. */
  forcePathStyle?: boolean;
}

export interface S3BlobStoreOptions extends S3ConnectionOptions {
  bucket: string;
  /** Key prefix inside the bucket, e.g. "team-a/blobs"; objects live at `<prefix>/ab/cd/<sha256>`. */
  prefix?: string;
  /**
   * A ready client (shared, or specially configured); the store then leaves closing it to the caller. For
   * S3-compatible stores it needs `requestChecksumCalculation: 'WHEN_REQUIRED'`, as the store's own client has.
   */
  client?: S3Client;
  /** Where uploads are spooled while hashing; defaults to os.tmpdir(). Needs room for the largest blob. */
  tmpDir?: string;
  /** Blobs at least this large go up as multipart uploads (default 64 MiB). */
  multipartThresholdBytes?: number;
  /** Part size of multipart uploads (default 16 MiB; S3 needs at least 5 MiB). */
  partSizeBytes?: number;
}

const MiB = 1024 * 1024;
// Uploads in flight at once for putFiles: each is a request, and S3 answers many in parallel.
const PUT_FILES_CONCURRENCY = 4;

/**
 * Blobs in an S3 (or S3-compatible) bucket. A put spools to a local temp file while hashing, because the
 * object key is the hash and is unknown until the last byte; then it uploads only if the key is absent.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly tmpDir: string;
  private readonly multipartThreshold: number;
  private readonly partSize: number;

  constructor(opts: S3BlobStoreOptions) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket)) {
      throw new ValidationError(`'${opts.bucket}' is not a valid S3 bucket name`, { field: 'bucket' });
    }
    this.bucket = opts.bucket;
    this.prefix = normalizePrefix(opts.prefix ?? '');
    this.tmpDir = opts.tmpDir ?? os.tmpdir();
    this.multipartThreshold = opts.multipartThresholdBytes ?? 64 * MiB;
    this.partSize = opts.partSizeBytes ?? 16 * MiB;
    this.ownsClient = opts.client === undefined;
    // The SDK warns on Node 20 that its releases after January 2027 will need Node 22. The version in
    // package.json is pinned and runs on Node 20, so the warning only adds noise to every command that
    // touches S3; a user who set the variable either way keeps their choice.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client =
      opts.client ??
      new (s3().S3Client)({
        ...(opts.region !== undefined ? { region: opts.region } : {}),
        ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
        ...(opts.credentials !== undefined ? { credentials: opts.credentials } : {}),
        forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
        // The SDK's default CRC trailers use aws-chunked uploads that many S3-compatible stores store
        // verbatim or reject; integrity is covered by ChecksumSHA256 on upload and our own sha256 on read.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
  }

  /** The object key of a blob (validates the key first). */
  keyOf(sha256: string): string {
    return this.prefix + shardedKey(sha256);
  }

  /** Where the store lives, as `s3://bucket/prefix`. */
  get url(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async put(source: BlobSource): Promise<BlobInfo> {
    const spooled = await spoolToTempFile(source, this.tmpDir);
    try {
      const info = { sha256: spooled.sha256, size: spooled.size };
      const existing = await this.stat(info.sha256);
      // An object under the key that hashes to it is this content; anything else is damage an upload repairs.
      if (existing?.size !== info.size || !(await this.intact(info.sha256))) await this.upload(spooled);
      return info;
    } finally {
      await spooled.discard();
    }
  }

  async putFile(filePath: string): Promise<BlobInfo> {
    // Opened first, so a missing file rejects here instead of erroring on a stream nobody reads yet.
    const handle = await open(filePath, 'r');
    try {
      if (!(await handle.stat()).isFile())
        throw new ValidationError(`'${filePath}' is not a regular file`, { field: 'path' });
      return await this.put(handle.createReadStream({ highWaterMark: 4 * 1024 * 1024, autoClose: false }));
    } finally {
      await handle.close();
    }
  }

  // An acknowledged PUT is already durable: there is nothing to group, only requests to overlap.
  async putFiles(filePaths: string[], opts: PutFilesOptions = {}): Promise<BlobInfo[]> {
    const indexes = filePaths.map((_, i) => i);
    return mapLimit(indexes, PUT_FILES_CONCURRENCY, async (i) => {
      const info = await this.putFile(filePaths[i]!);
      opts.onStored?.(i, info);
      return info;
    });
  }

  async get(sha256: string): Promise<Readable> {
    const key = this.keyOf(sha256);
    let body: unknown;
    try {
      body = (await this.client.send(new (s3().GetObjectCommand)({ Bucket: this.bucket, Key: key }))).Body;
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError('blob', sha256);
      throw err;
    }
    // In Node the SDK always answers with a stream; anything else means a browser-style runtime.
    if (!(body instanceof Readable)) throw new Error(`S3 returned no readable body for ${key}`);
    return verifyingStream(body, sha256, 's3');
  }

  async getVerified(sha256: string): Promise<Readable> {
    const info = await this.stat(sha256);
    if (info === undefined) throw new NotFoundError('blob', sha256);
    if (info.size <= VERIFY_IN_MEMORY_BYTES) return streamOf(await this.getBytes(sha256));
    // One download, verified into a local spool; what is streamed is exactly what was checked.
    const spooled = await spoolToTempFile(await this.get(sha256), this.tmpDir);
    const stream = createReadStream(spooled.path);
    stream.once('close', () => void spooled.discard());
    return stream;
  }

  async getBytes(sha256: string): Promise<Buffer> {
    return readFully(await this.get(sha256));
  }

  /**
   * True when the stored object hashes to its key. S3 keeps the SHA-256 it checked on upload, so a
   * matching stored checksum answers without a download; an object written without it (another tool, a
   * multipart upload) is read and hashed.
   */
  private async intact(sha256: string): Promise<boolean> {
    try {
      const head = await this.client.send(
        new (s3().HeadObjectCommand)({
          Bucket: this.bucket,
          Key: this.keyOf(sha256),
          ChecksumMode: 'ENABLED',
        }),
      );
      if (head.ChecksumSHA256 === Buffer.from(sha256, 'hex').toString('base64')) return true;
      await drainVerified(await this.get(sha256));
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'INTEGRITY_ERROR') return false;
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    const key = this.keyOf(sha256);
    try {
      const head = await this.client.send(new (s3().HeadObjectCommand)({ Bucket: this.bucket, Key: key }));
      return { sha256, size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== undefined;
  }

  async delete(sha256: string): Promise<boolean> {
    // DeleteObject succeeds whether or not the key existed, so ask first.
    if (!(await this.has(sha256))) return false;
    await this.client.send(new (s3().DeleteObjectCommand)({ Bucket: this.bucket, Key: this.keyOf(sha256) }));
    return true;
  }

  async *list(): AsyncIterable<BlobInfo> {
    const pages = s3().paginateListObjectsV2(
      { client: this.client },
      { Bucket: this.bucket, ...(this.prefix ? { Prefix: this.prefix } : {}) },
    );
    for await (const page of pages) {
      for (const object of page.Contents ?? []) {
        const sha256 = object.Key?.slice(this.prefix.length).split('/')[2];
        // Objects that merely share the prefix (other tools, stray uploads) are not blobs.
        if (sha256 === undefined || !isSha256Hex(sha256) || object.Key !== this.keyOf(sha256)) continue;
        yield {
          sha256,
          size: object.Size ?? 0,
          ...(object.LastModified ? { modifiedAt: object.LastModified.getTime() } : {}),
        };
      }
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private async upload(spooled: SpooledFile): Promise<void> {
    await this.send(spooled);
    // Cheap proof the store kept the bytes as sent. Stores that do not speak the SDK's aws-chunked
    // framing save the framing too, and that must fail here, not on some read months later.
    const stored = await this.stat(spooled.sha256);
    if (stored?.size !== spooled.size) {
      await this.client
        .send(new (s3().DeleteObjectCommand)({ Bucket: this.bucket, Key: this.keyOf(spooled.sha256) }))
        .catch(() => {});
      throw new IntegrityError(
        `S3 stored ${stored?.size ?? 'no'} bytes for blob ${spooled.sha256} after an upload of ${spooled.size}; ` +
          "for S3-compatible stores configure the client with requestChecksumCalculation: 'WHEN_REQUIRED'",
        { sha256: spooled.sha256, size: spooled.size, storedSize: stored?.size },
      );
    }
  }

  private async send(spooled: SpooledFile): Promise<void> {
    const key = this.keyOf(spooled.sha256);
    if (spooled.size >= this.multipartThreshold) {
      await uploadFileMultipart({
        client: this.client,
        bucket: this.bucket,
        key,
        filePath: spooled.path,
        size: spooled.size,
        partSizeBytes: this.partSize,
      });
      return;
    }
    await this.client.send(
      new (s3().PutObjectCommand)({
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(spooled.path),
        ContentLength: spooled.size,
        ContentType: 'application/octet-stream',
        // S3 checks the bytes it received against this and refuses the upload on a mismatch.
        ChecksumSHA256: Buffer.from(spooled.sha256, 'hex').toString('base64'),
      }),
    );
  }
}

function normalizePrefix(prefix: string): string {
  const segments = prefix.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new ValidationError(`S3 key prefix '${prefix}' may not contain '.' or '..' segments`, {
      field: 'prefix',
    });
  }
  return segments.length === 0 ? '' : `${segments.join('/')}/`;
}

function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  // A missing bucket is also a 404, but it is a misconfiguration, not a missing blob.
  if (e.name === 'NoSuchBucket') return false;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
