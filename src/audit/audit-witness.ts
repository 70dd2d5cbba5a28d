import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { sha256Hex } from '../core/hashing.js';

/**
 * The head witness: the furthest point of the audit chain this machine has seen committed, kept
 * outside the database (beside the audit key). Whoever can rewrite the database can delete entries
 * after some point and put back an older signed head, or wipe the log whole; both leave the chain
 * self-consistent, but the witness remembers a head the database no longer has. It only moves forward.
 */
export interface AuditWitness {
  /** The recorded witness; undefined when none was ever written. Throws if the file is unreadable. */
  read(): WitnessRecord | undefined;
  /** Replaces the recorded witness (the audit log decides whether it moves forward). */
  write(record: WitnessRecord): void;
}

export const witnessRecordSchema = z.object({
  /** Sequence and hash of an entry known committed. */
  seq: z.number().int().min(0),
  hash: z.string(),
  /** The newest checkpoint known committed (0 when none). */
  checkpointSeq: z.number().int().min(0),
  /** HMAC with the audit key, so a copied-in witness from elsewhere cannot lower it unnoticed. */
  mac: z.string(),
});
export type WitnessRecord = z.infer<typeof witnessRecordSchema>;

/*
 * The record is written in place, padded to one fixed-size block, by a single write at offset 0.
 * Replacing the file by rename (a temporary file renamed over it) cost about half a millisecond per
 * audit entry on ext4, which flushes the new file's data when a rename replaces an existing one; the
 * witness moves on every append, so that was a tenth of a 1,000-metric log-batch. A write of one
 * block smaller than a disk sector lands whole or not at all, so a crash still never leaves half of
 * one. Trailing spaces pad the JSON, which parses as it is.
 */
const RECORD_BYTES = 512;

/** A witness in a file, overwritten in place with one fixed-size write. */
export function createFileWitness(file: string): AuditWitness {
  let dirMade = false;
  return {
    read() {
      // A read racing another process's in-place write can see a mix of the two blocks (the page
      // copy is not atomic against a concurrent write); such a read does not parse, and the next
      // one sees a whole block, so a few tries tell a torn read from a damaged file.
      for (let attempt = 1; ; attempt++) {
        let text: string;
        try {
          text = fs.readFileSync(file, 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw err;
        }
        try {
          return witnessRecordSchema.parse(JSON.parse(text));
        } catch (err) {
          if (attempt >= 3) throw err;
        }
      }
    },
    write(record) {
      if (!dirMade) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        dirMade = true;
      }
      const text = `${JSON.stringify(record)}\n`;
      if (Buffer.byteLength(text) >= RECORD_BYTES) throw new Error('audit witness record too long');
      const block = Buffer.alloc(RECORD_BYTES, ' ');
      block.write(text);
      const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o600);
      try {
        fs.writeSync(fd, block, 0, RECORD_BYTES, 0);
        // A file left longer (hand-edited, or written by an older version) is cut to the one block.
        if (fs.fstatSync(fd).size !== RECORD_BYTES) fs.ftruncateSync(fd, RECORD_BYTES);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

/**
 * The witness of a workspace's database: `audit-witness-<id>.json` beside the audit key under
 * SEXTANT_HOME, one per database (the id is a digest of its URL), so pointing a home at another
 * database neither trips nor erases the first one's witness.
 */
export function workspaceWitness(home: string, databaseUrl: string): AuditWitness {
  return createFileWitness(workspaceWitnessFile(home, databaseUrl));
}

/** Where workspaceWitness keeps its file (a restore resets it: the restored head is the new known one). */
export function workspaceWitnessFile(home: string, databaseUrl: string): string {
  return path.join(home, `audit-witness-${sha256Hex(databaseUrl).slice(0, 16)}.json`);
}
