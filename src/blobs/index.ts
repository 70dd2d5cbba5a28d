// The blob domain's public surface: one content-addressed store, two backends, one URL to choose.
export {
  /** Throws ValidationError unless the key is 64 lowercase hex characters. */
  assertBlobKey,
  /** What the store knows about one blob: `{ sha256, size }`. */
  type BlobInfo,
  /** What `put` accepts: a Readable, any async iterable of bytes, bytes, or a UTF-8 string. */
  type BlobSource,
  /** The blob store seam, implemented by the folder and the S3 backends. */
  type BlobStore,
  /** Options of putFiles: a callback as each file is stored. */
  type PutFilesOptions,
  /** The `ab/cd/<sha256>` layout both backends share, e.g. shardedKey(sha) -> "9f/86/9f86d0...". */
  shardedKey,
} from './blob-store.js';
export {
  /** Options of createBlobStore: S3 connection settings and the spool folder. */
  type CreateBlobStoreOptions,
  /** Opens the store SEXTANT_BLOB_URL names, e.g. createBlobStore(config.blobUrl, { s3: config.s3 }). */
  createBlobStore,
} from './create-blob-store.js';
export {
  /** The local-folder backend: `<root>/ab/cd/<sha256>`, atomic fsynced writes, symlinks refused. */
  LocalBlobStore,
} from './local-blob-store.js';
export {
  /** The S3 / S3-compatible backend. */
  S3BlobStore,
  /** Options of S3BlobStore: bucket, prefix, connection, spool folder, multipart sizes. */
  type S3BlobStoreOptions,
  /** How to reach an S3 endpoint; unset fields come from the standard AWS credential and region chain. */
  type S3ConnectionOptions,
} from './s3-blob-store.js';
export {
  /** Reads a stream fully into a Buffer, rejecting with the stream's error. */
  readFully,
  /** A Transform that passes bytes through and fails with IntegrityError if they do not hash to the key. */
  VerifyingStream,
  /** Wraps a raw blob stream in a VerifyingStream, forwarding errors and early cancellation both ways. */
  verifyingStream,
} from './verifying-stream.js';
