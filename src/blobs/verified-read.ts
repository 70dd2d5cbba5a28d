import { Readable } from 'node:stream';

/*
 * Reads that verify before the first byte leaves. A verifying stream alone (get) only fails at its end:
 * an HTTP reply has by then sent its status, its length and all but the last chunk, and a client that
 * does not check a digest keeps corrupted bytes. So a blob is verified whole first:
 *   - up to VERIFY_IN_MEMORY_BYTES it is read into memory, checked, and handed out from there;
 *   - above that the folder store makes a pre-check pass over the file (local reads are cheap and need
 *     no room for a copy) and then streams it verifying again, and the S3 store spools the object to a
 *     local temp file while verifying it and streams that copy (one download: a second GET would double
 *     the transfer and could see another object than the first).
 */

const MiB = 1024 * 1024;

/** Blobs up to this size are verified in memory before the first byte is handed out. */
export const VERIFY_IN_MEMORY_BYTES = 8 * MiB;

/** Reads a verifying stream to its end, keeping nothing; rejects with its IntegrityError. */
export async function drainVerified(stream: Readable): Promise<void> {
  for await (const _chunk of stream) {
    // Hashing happens in the verifying stream; the bytes themselves are not needed.
  }
}

/** A byte stream over verified bytes already in memory. */
export function streamOf(bytes: Buffer): Readable {
  return Readable.from([bytes], { objectMode: false });
}
