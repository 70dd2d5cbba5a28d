import type { Clock } from '../core/clock.js';
import { canonicalJson, digestOf, digestsEqual, hmacSha256Hex, sha256Hex } from '../core/hashing.js';
import { newId } from '../core/ids.js';
import type { AuditEntryTable, Db, Dialect, Executor } from '../store/index.js';
import * as repo from './audit.repo.js';
import {
  type AuditEntry,
  type AuditEvent,
  type AuditProblem,
  type AuditVerifyResult,
  GENESIS_HASH,
} from './audit.schema.js';

/** A checkpoint is written automatically every this many entries. */
const CHECKPOINT_EVERY = 1000;
const VERIFY_PAGE = 2000;

export interface AuditLog {
  /** Appends one entry; call inside the transaction that makes the change. */
  append(tx: Executor, event: AuditEvent): Promise<AuditEntry>;
  /** Walks the whole chain and reports every problem it finds. */
  verify(options?: { externalCheckpoint?: SignedCheckpoint }): Promise<AuditVerifyResult>;
  /** Records (and returns) a signed checkpoint of the current head. */
  checkpoint(): Promise<SignedCheckpoint | undefined>;
  /** The newest entries, optionally for one entity. */
  list(options: { entityType?: string; entityId?: string; limit?: number }): Promise<AuditEntry[]>;
}

export interface SignedCheckpoint {
  seq: number;
  hash: string;
  at: number;
  signature: string;
}

export interface AuditLogDeps {
  db: Db;
  dialect: Dialect;
  clock: Clock;
  /** Secret for signing the head and checkpoints; kept outside the database. */
  key: string;
}

/** The fields an entry's hash covers: everything but the hash itself, in canonical JSON. */
function entryHash(e: Omit<AuditEntryTable, 'hash'>): string {
  const { prev_hash, hash: _hash, ...body } = e as AuditEntryTable;
  return sha256Hex(`${prev_hash}\n${canonicalJson(body)}`);
}

/** Head and checkpoint signatures differ in kind, so a checkpoint's signature can never pass as a head's. */
function sign(key: string, kind: 'head' | 'checkpoint', seq: number, hash: string): string {
  return hmacSha256Hex(key, `sextant-audit-${kind}:${seq}:${hash}`);
}

function toEntry(row: AuditEntryTable): AuditEntry {
  return {
    seq: row.seq,
    id: row.id,
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    action: row.action,
    entityType: row.entity_type,
    entityId: row.entity_id,
    beforeDigest: row.before_digest,
    afterDigest: row.after_digest,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** The append-only, hash-chained audit log. */
export function createAuditLog({ db, dialect, clock, key }: AuditLogDeps): AuditLog {
  async function append(tx: Executor, event: AuditEvent): Promise<AuditEntry> {
    await repo.lockChain({ tx, dialect });
    const head = await repo.findHead({ tx });
    const at = clock.now();
    const body: Omit<AuditEntryTable, 'hash'> = {
      seq: (head?.seq ?? 0) + 1,
      id: newId('aud', at),
      at,
      actor: event.actor,
      action: event.action,
      entity_type: event.entityType,
      entity_id: event.entityId,
      before_digest: event.before === undefined ? null : digestOf(event.before),
      after_digest: event.after === undefined ? null : digestOf(event.after),
      details: event.details === undefined ? null : canonicalJson(event.details),
      prev_hash: head?.hash ?? GENESIS_HASH,
    };
    const row = { ...body, hash: entryHash(body) };
    await repo.insertEntry({ tx, entry: row });
    await repo.upsertHead({
      tx,
      head: { seq: row.seq, hash: row.hash, signature: sign(key, 'head', row.seq, row.hash), updated_at: at },
    });
    if (row.seq % CHECKPOINT_EVERY === 0) {
      await repo.insertCheckpoint({
        tx,
        checkpoint: {
          seq: row.seq,
          hash: row.hash,
          at,
          signature: sign(key, 'checkpoint', row.seq, row.hash),
        },
      });
    }
    return toEntry(row);
  }

  async function verify(options: { externalCheckpoint?: SignedCheckpoint } = {}): Promise<AuditVerifyResult> {
    const problems: AuditProblem[] = [];
    const hashBySeq = new Map<number, string>();
    const seqByHash = new Map<string, number>();
    let count = 0;
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    let lastSeq = 0;
    /*
     * Read in this order so that concurrent appends never look like tampering: checkpoints, then the
     * head, then entries only up to that head. An append writes its entry and the head in one
     * transaction, so any entry past the head must be matched by a newer head read afterwards.
     */
    const checkpoints = await repo.listCheckpoints({ tx: db });
    const head = await repo.findHead({ tx: db });
    const upTo = head?.seq ?? Number.MAX_SAFE_INTEGER;
    for (let after = 0; ; ) {
      const page = await repo.listEntriesAfter({ tx: db, afterSeq: after, upTo, limit: VERIFY_PAGE });
      for (const row of page) {
        count++;
        if (entryHash(row) !== row.hash) {
          problems.push({
            kind: 'edited',
            seq: row.seq,
            message: `entry ${row.seq} does not match its hash`,
          });
        }
        if (row.seq !== expectedSeq) {
          problems.push({
            kind: 'missing',
            seq: expectedSeq,
            message: `entries ${expectedSeq}..${row.seq - 1} are missing`,
          });
        } else if (row.prev_hash !== prevHash) {
          const linkedTo = seqByHash.get(row.prev_hash);
          problems.push(
            linkedTo !== undefined
              ? {
                  kind: 'reordered',
                  seq: row.seq,
                  message: `entry ${row.seq} follows entry ${linkedTo}, not ${row.seq - 1}`,
                }
              : {
                  kind: 'inserted',
                  seq: row.seq,
                  message: `entry ${row.seq} does not link to entry ${row.seq - 1}`,
                },
          );
        }
        hashBySeq.set(row.seq, row.hash);
        seqByHash.set(row.hash, row.seq);
        prevHash = row.hash;
        expectedSeq = row.seq + 1;
        lastSeq = row.seq;
      }
      if (page.length < VERIFY_PAGE) break;
      after = page[page.length - 1]!.seq;
    }

    if (!head) {
      if (count > 0)
        problems.push({ kind: 'bad-signature', seq: null, message: 'the signed head is missing' });
    } else {
      if (!digestsEqual(sign(key, 'head', head.seq, head.hash), head.signature)) {
        problems.push({ kind: 'bad-signature', seq: head.seq, message: 'the head signature is not valid' });
      }
      if (head.seq > lastSeq) {
        problems.push({
          kind: 'truncated',
          seq: head.seq,
          message: `the signed head is entry ${head.seq} but the log ends at ${lastSeq}`,
        });
      } else if (hashBySeq.get(head.seq) !== head.hash) {
        problems.push({
          kind: 'edited',
          seq: head.seq,
          message: 'the last entry differs from the signed head',
        });
      }
    }

    if (head) {
      const maxSeq = await repo.maxSeq({ tx: db });
      const headNow = await repo.findHead({ tx: db });
      if (maxSeq > (headNow?.seq ?? 0)) {
        problems.push({
          kind: 'inserted',
          seq: (headNow?.seq ?? 0) + 1,
          message: `entries after the signed head (${headNow?.seq ?? 0}) were added outside the log`,
        });
      }
    }

    const all = options.externalCheckpoint ? [...checkpoints, options.externalCheckpoint] : checkpoints;
    for (const cp of all) {
      if (!digestsEqual(sign(key, 'checkpoint', cp.seq, cp.hash), cp.signature)) {
        problems.push({
          kind: 'bad-signature',
          seq: cp.seq,
          message: `checkpoint at ${cp.seq} has a bad signature`,
        });
      } else if (cp.seq > lastSeq) {
        problems.push({
          kind: 'truncated',
          seq: cp.seq,
          message: `checkpoint at ${cp.seq} is past the end (${lastSeq})`,
        });
      } else if (hashBySeq.get(cp.seq) !== cp.hash) {
        problems.push({
          kind: 'checkpoint-mismatch',
          seq: cp.seq,
          message: `entry ${cp.seq} differs from its checkpoint`,
        });
      }
    }

    return {
      ok: problems.length === 0,
      entries: count,
      head: head ? { seq: head.seq, hash: head.hash } : null,
      checkpoints: all.length,
      problems,
    };
  }

  async function checkpoint(): Promise<SignedCheckpoint | undefined> {
    return db.transaction().execute(async (tx) => {
      await repo.lockChain({ tx, dialect });
      const head = await repo.findHead({ tx });
      if (!head) return undefined;
      const cp = {
        seq: head.seq,
        hash: head.hash,
        at: clock.now(),
        signature: sign(key, 'checkpoint', head.seq, head.hash),
      };
      await repo.insertCheckpoint({ tx, checkpoint: cp });
      return cp;
    });
  }

  async function list(options: { entityType?: string; entityId?: string; limit?: number }) {
    const rows = await repo.listEntriesFor({
      tx: db,
      ...options,
      limit: Math.min(options.limit ?? 100, 1000),
    });
    return rows.map(toEntry);
  }

  return { append, verify, checkpoint, list };
}
