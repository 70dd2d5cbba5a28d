import type { Clock } from '../core/clock.js';
import { canonicalJson, digestOf, digestsEqual, hmacSha256Hex, sha256Hex } from '../core/hashing.js';
import { newId } from '../core/ids.js';
import {
  type AuditCheckpointTable,
  type AuditEntryTable,
  type Db,
  type Dialect,
  type Executor,
  inTransaction,
} from '../store/index.js';
import * as repo from './audit.repo.js';
import {
  type AuditEntry,
  type AuditEvent,
  type AuditProblem,
  type AuditVerifyResult,
  GENESIS_HASH,
} from './audit.schema.js';
import type { AuditWitness, WitnessRecord } from './audit-witness.js';
import { deepProblems } from './deep-verify.js';

/** A checkpoint is written automatically every this many entries. */
const CHECKPOINT_EVERY = 1000;
const VERIFY_PAGE = 2000;

export interface AuditLog {
  /** Appends one entry; call inside the transaction that makes the change. */
  append(tx: Executor, event: AuditEvent): Promise<AuditEntry>;
  /** Walks the whole chain and reports every problem it finds. */
  verify(options?: { externalCheckpoint?: SignedCheckpoint; deep?: boolean }): Promise<AuditVerifyResult>;
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
  /** The checkpoint before this one, which the signature also covers (absent on the first). */
  prevSeq?: number | null;
  prevSignature?: string | null;
}

export interface AuditLogDeps {
  db: Db;
  dialect: Dialect;
  clock: Clock;
  /** Secret for signing the head and checkpoints; kept outside the database. */
  key: string;
  /**
   * Where the furthest committed head is remembered outside the database (rollback and wipe
   * detection). The workspace always passes one (`workspaceWitness(home)`); unit tests of other
   * domains that build a bare log may leave it out, and then rollback goes unnoticed.
   */
  witness?: AuditWitness;
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

/**
 * A checkpoint's signature covers the one before it, so the checkpoints form a chain of their own:
 * a deleted checkpoint row leaves its successor pointing at nothing. The first checkpoint (and those
 * from before the chain existed) sign only themselves.
 */
function signCheckpoint(
  key: string,
  cp: { seq: number; hash: string; prevSeq?: number | null; prevSignature?: string | null },
): string {
  if (cp.prevSeq === undefined || cp.prevSeq === null) return sign(key, 'checkpoint', cp.seq, cp.hash);
  return hmacSha256Hex(
    key,
    `sextant-audit-checkpoint:${cp.seq}:${cp.hash}:${cp.prevSeq}:${cp.prevSignature ?? ''}`,
  );
}

function witnessMac(key: string, w: Omit<WitnessRecord, 'mac'>): string {
  return hmacSha256Hex(key, `sextant-audit-witness:${w.seq}:${w.hash}:${w.checkpointSeq}`);
}

function toCheckpoint(row: AuditCheckpointTable): SignedCheckpoint {
  return {
    seq: Number(row.seq),
    hash: row.hash,
    at: Number(row.at),
    signature: row.signature,
    prevSeq: row.prev_seq === null ? null : Number(row.prev_seq),
    prevSignature: row.prev_signature,
  };
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
export function createAuditLog({ db, dialect, clock, key, witness }: AuditLogDeps): AuditLog {
  /** What this process last wrote to the witness (or read from it), to write only when it moves. */
  let witnessed: Omit<WitnessRecord, 'mac'> | undefined;

  function readWitness(): { record?: WitnessRecord; problem?: string } {
    if (!witness) return {};
    try {
      const record = witness.read();
      if (record && !digestsEqual(witnessMac(key, record), record.mac)) {
        return { problem: 'the head witness outside the database has a bad signature' };
      }
      return record ? { record } : {};
    } catch (err) {
      return { problem: `the head witness cannot be read: ${(err as Error).message}` };
    }
  }

  /**
   * Moves the witness forward to a head known committed (never back). Called with the head an append
   * found (committed before it: the chain lock is held), and with the heads verify and checkpoint
   * read, so the witness lags the newest entry by at most one append.
   */
  function advanceWitness(next: Omit<WitnessRecord, 'mac'>): void {
    if (!witness) return;
    if (witnessed === undefined) witnessed = readWitness().record;
    if (witnessed && next.seq <= witnessed.seq && next.checkpointSeq <= witnessed.checkpointSeq) return;
    const merged =
      witnessed && witnessed.seq > next.seq
        ? { ...witnessed, checkpointSeq: Math.max(witnessed.checkpointSeq, next.checkpointSeq) }
        : { ...next, checkpointSeq: Math.max(witnessed?.checkpointSeq ?? 0, next.checkpointSeq) };
    witness.write({ ...merged, mac: witnessMac(key, merged) });
    witnessed = merged;
  }

  async function newCheckpoint(tx: Executor, seq: number, hash: string, at: number) {
    const last = await repo.findLastCheckpoint({ tx });
    // Checkpoint rows only grow; one at this seq already (auto, then explicit) is kept as it is.
    if (last && Number(last.seq) >= seq) return toCheckpoint(last);
    const body = {
      seq,
      hash,
      prevSeq: last ? Number(last.seq) : null,
      prevSignature: last?.signature ?? null,
    };
    const cp: SignedCheckpoint = { ...body, at, signature: signCheckpoint(key, body) };
    await repo.insertCheckpoint({
      tx,
      checkpoint: {
        seq,
        hash,
        at,
        signature: cp.signature,
        prev_seq: body.prevSeq,
        prev_signature: body.prevSignature,
      },
    });
    return cp;
  }

  async function append(tx: Executor, event: AuditEvent): Promise<AuditEntry> {
    await repo.lockChain({ tx, dialect });
    const head = await repo.findHead({ tx });
    if (head) {
      const seq = Number(head.seq);
      // An automatic checkpoint commits with the entry it marks, so a committed head implies it.
      advanceWitness({ seq, hash: head.hash, checkpointSeq: seq % CHECKPOINT_EVERY === 0 ? seq : 0 });
    }
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
      details:
        event.details === undefined && event.governed === undefined
          ? null
          : canonicalJson({ ...event.details, ...(event.governed ? { governed: event.governed } : {}) }),
      prev_hash: head?.hash ?? GENESIS_HASH,
    };
    const row = { ...body, hash: entryHash(body) };
    await repo.insertEntry({ tx, entry: row });
    await repo.upsertHead({
      tx,
      head: { seq: row.seq, hash: row.hash, signature: sign(key, 'head', row.seq, row.hash), updated_at: at },
    });
    if (row.seq % CHECKPOINT_EVERY === 0) await newCheckpoint(tx, row.seq, row.hash, at);
    return toEntry(row);
  }

  async function verify(
    options: { externalCheckpoint?: SignedCheckpoint; deep?: boolean } = {},
  ): Promise<AuditVerifyResult> {
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

    const stored = checkpoints.map(toCheckpoint);
    const all = options.externalCheckpoint ? [...stored, options.externalCheckpoint] : stored;
    for (const cp of all) {
      if (!digestsEqual(signCheckpoint(key, cp), cp.signature)) {
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
    problems.push(...checkpointChainProblems(stored, options.externalCheckpoint));
    const lastCheckpointSeq = stored.at(-1)?.seq ?? 0;
    problems.push(...witnessProblems({ head, lastSeq, hashBySeq, lastCheckpointSeq }));
    const chainOk = problems.length === 0;
    if (options.deep) problems.push(...(await deepProblems(db, lastSeq)));
    // Only a chain found whole moves the witness: a damaged one must keep failing.
    if (chainOk && head) {
      advanceWitness({ seq: Number(head.seq), hash: head.hash, checkpointSeq: lastCheckpointSeq });
    }

    return {
      ok: problems.length === 0,
      entries: count,
      head: head ? { seq: head.seq, hash: head.hash } : null,
      checkpoints: all.length,
      witness: witness ? (readWitness().record?.seq ?? 0) : null,
      problems,
    };
  }

  async function checkpoint(): Promise<SignedCheckpoint | undefined> {
    const cp = await inTransaction(db, async (tx) => {
      await repo.lockChain({ tx, dialect });
      const head = await repo.findHead({ tx });
      if (!head) return undefined;
      return newCheckpoint(tx, Number(head.seq), head.hash, clock.now());
    });
    if (cp) advanceWitness({ seq: cp.seq, hash: cp.hash, checkpointSeq: cp.seq });
    return cp;
  }

  /** Each stored checkpoint that names a predecessor must find it, signature and all. */
  function checkpointChainProblems(stored: SignedCheckpoint[], external?: SignedCheckpoint): AuditProblem[] {
    const problems: AuditProblem[] = [];
    const bySeq = new Map(stored.map((cp) => [cp.seq, cp]));
    for (const cp of external ? [...stored, external] : stored) {
      if (cp.prevSeq === undefined || cp.prevSeq === null) continue;
      const prev = bySeq.get(cp.prevSeq);
      if (!prev || prev.signature !== cp.prevSignature) {
        problems.push({
          kind: 'checkpoint-missing',
          seq: cp.prevSeq,
          message: `checkpoint at ${cp.seq} follows a checkpoint at ${cp.prevSeq} that is ${prev ? 'not the one it signed' : 'gone'}`,
        });
      }
    }
    return problems;
  }

  /** What the witness outside the database says about the head and checkpoints inside it. */
  function witnessProblems({
    head,
    lastSeq,
    hashBySeq,
    lastCheckpointSeq,
  }: {
    head: { seq: number; hash: string } | undefined;
    lastSeq: number;
    hashBySeq: Map<number, string>;
    lastCheckpointSeq: number;
  }): AuditProblem[] {
    const { record, problem } = readWitness();
    if (problem) return [{ kind: 'bad-signature', seq: null, message: problem }];
    if (!record) return [];
    const problems: AuditProblem[] = [];
    const end = Math.min(lastSeq, Number(head?.seq ?? 0));
    if (record.seq > end) {
      problems.push({
        kind: 'rolled-back',
        seq: record.seq,
        message:
          end === 0
            ? `the audit log is empty, but the head witness outside the database saw entry ${record.seq}: the log was wiped`
            : `the head witness outside the database saw entry ${record.seq}, but the log ends at ${end}: entries were deleted and an older head put back`,
      });
    } else if (record.seq > 0 && hashBySeq.get(record.seq) !== record.hash) {
      problems.push({
        kind: 'rolled-back',
        seq: record.seq,
        message: `entry ${record.seq} is not the one the head witness saw: the chain was rewritten from there`,
      });
    }
    if (record.checkpointSeq > lastCheckpointSeq) {
      problems.push({
        kind: 'checkpoint-missing',
        seq: record.checkpointSeq,
        message: `the head witness saw a checkpoint at ${record.checkpointSeq}, but the newest in the database is at ${lastCheckpointSeq || 'none'}: checkpoint rows were deleted`,
      });
    }
    return problems;
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
