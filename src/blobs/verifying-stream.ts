import { createHash, type Hash } from 'node:crypto';
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from '../core/errors.js';
import { digestsEqual } from '../core/hashing.js';

/**
 * Passes bytes through while hashing them, and fails with IntegrityError at the end if the digest is not
 * `expected`. It holds back the latest chunk until the digest is known: a consumer that ignores the error
 * (a careless pipe into a file) still never receives a corrupted blob complete.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private held: Buffer | undefined;
  private size = 0;

  constructor(
    private readonly expected: string,
    private readonly where: string,
  ) {
    super();
  }

  override _transform(chunk: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    this.hash.update(buf);
    this.size += buf.length;
    const previous = this.held;
    this.held = buf;
    // undefined, never null: pushing null would end the stream early.
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.hash.digest('hex');
    if (!digestsEqual(actual, this.expected)) {
      this.held = undefined;
      callback(
        new IntegrityError(`blob ${this.expected} is corrupted: its bytes hash to ${actual}`, {
          sha256: this.expected,
          actualSha256: actual,
          size: this.size,
          where: this.where,
        }),
      );
      return;
    }
    const last = this.held;
    this.held = undefined;
    callback(null, last);
  }
}

/**
 * Wraps a raw blob stream so it verifies against `expected`. Errors of the source reach the consumer, and a
 * consumer that stops early releases the source (file descriptor, HTTP socket).
 */
export function verifyingStream(source: Readable, expected: string, where: string): Readable {
  const verifier = new VerifyingStream(expected, where);
  // pipeline forwards errors both ways; its own callback has nothing left to do.
  pipeline(source, verifier, () => {});
  return verifier;
}

/** Collects a stream into one Buffer; rejects with the stream's error (e.g. IntegrityError). */
export async function readFully(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
