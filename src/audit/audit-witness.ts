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

/** A witness in a file (written to a temporary file and renamed, so a crash never leaves half of one). */
export function createFileWitness(file: string): AuditWitness {
  return {
    read() {
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      return witnessRecordSchema.parse(JSON.parse(text));
    },
    write(record) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      fs.renameSync(tmp, file);
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
