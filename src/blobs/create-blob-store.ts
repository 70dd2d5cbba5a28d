import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../core/errors.js';
import type { BlobStore } from './blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';
import { S3BlobStore, type S3BlobStoreOptions, type S3ConnectionOptions } from './s3-blob-store.js';

export interface CreateBlobStoreOptions {
  /** Connection settings for `s3://` URLs (Config.s3 fits as is). */
  s3?: S3ConnectionOptions & Pick<S3BlobStoreOptions, 'multipartThresholdBytes' | 'partSizeBytes'>;
  /** Spool folder for S3 uploads; a folder store always spools inside its own root so renames stay atomic. */
  tmpDir?: string;
}

const FIELD = 'SEXTANT_BLOB_URL';

/**
 * Opens the blob store a URL names: `file:/abs/path`, `file:./relative`, `file:///abs/path` or
 * `s3://bucket/prefix`. Anything else is a ValidationError on SEXTANT_BLOB_URL.
 */
export function createBlobStore(url: string, opts: CreateBlobStoreOptions = {}): BlobStore {
  if (url.startsWith('file:')) return new LocalBlobStore(parseFileUrl(url));
  if (url.startsWith('s3://')) {
    const { bucket, prefix } = parseS3Url(url);
    try {
      return new S3BlobStore({
        ...opts.s3,
        bucket,
        prefix,
        ...(opts.tmpDir !== undefined ? { tmpDir: opts.tmpDir } : {}),
      });
    } catch (err) {
      // Bucket and prefix came from the URL, so the URL is what the operator has to fix.
      if (err instanceof ValidationError) {
        throw new ValidationError(`${FIELD}: ${err.message}`, { field: FIELD });
      }
      throw err;
    }
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw new ValidationError(
    `${FIELD}: unsupported blob store URL${scheme ? ` scheme '${scheme}:'` : ''}; use file:<path> or s3://bucket/prefix`,
    { field: FIELD },
  );
}

function parseFileUrl(url: string): string {
  let p: string;
  if (url.startsWith('file://')) {
    // A real file URL: percent-escapes decoded, and a remote host refused rather than silently dropped.
    try {
      p = fileURLToPath(url);
    } catch (err) {
      throw new ValidationError(`${FIELD}: ${(err as Error).message}`, { field: FIELD });
    }
  } else {
    p = url.slice('file:'.length);
  }
  if (p === '') throw new ValidationError(`${FIELD}: file: URL names no folder`, { field: FIELD });
  return path.resolve(p);
}

function parseS3Url(url: string): { bucket: string; prefix: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(`${FIELD}: '${url}' is not a valid s3:// URL`, { field: FIELD });
  }
  // Secrets belong in the credential chain, not in a URL that ends up in logs.
  if (parsed.username || parsed.password || parsed.search || parsed.hash || parsed.port) {
    throw new ValidationError(`${FIELD}: an s3:// URL carries only a bucket and a prefix`, { field: FIELD });
  }
  if (parsed.hostname === '')
    throw new ValidationError(`${FIELD}: s3:// URL names no bucket`, { field: FIELD });
  // URL parsing silently lowercases the host and resolves `a/../b` into `b`; look at what was written.
  const afterScheme = url.slice('s3://'.length);
  const bucket = /^[^/]*/.exec(afterScheme)?.[0] ?? '';
  if (bucket !== parsed.hostname) {
    throw new ValidationError(`${FIELD}: '${bucket}' is not a valid S3 bucket name`, { field: FIELD });
  }
  const written = afterScheme.slice(bucket.length);
  const segments = written.split('/').map((s) => safeDecode(s));
  if (segments.some((s) => s === undefined || s === '.' || s === '..')) {
    throw new ValidationError(
      `${FIELD}: the s3:// prefix may not contain '.' or '..' segments or broken %-escapes`,
      {
        field: FIELD,
      },
    );
  }
  return { bucket, prefix: segments.join('/') };
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
