import type { Clock } from '../core/clock.js';
import { canonicalJson, sha256Hex } from '../core/hashing.js';
import { type Db, type Dialect, type Executor, inTransaction } from '../store/index.js';
import type { PredictionTable } from '../store/schema-serving.js';
import * as repo from './audit.repo.js';
import type { AuditEvent, AuditProblem } from './audit.schema.js';
import type { LogKey } from './prediction-seal.repo.js';
import * as seals from './prediction-seal.repo.js';

/*
 * The prediction log is written in group commits off the request path (a writer thread on SQLite),
 * too hot to write an audit entry per row. It is sealed behind instead: a background job appends a
 * `predictions.sealed` entry for the rows served since the last seal, in (served_at, id) order, as
 * blocks of BLOCK rows, each with its first and last key, its count and a digest of its rows. The
 * entry is covered by the chain's hash like any other, so `audit verify --deep` can read each block
 * back and name a sealed prediction that was edited, deleted or slipped in between.
 *
 * Only rows served more than `graceMs` ago are sealed, so a group still in flight when the seal runs
 * is not passed over: a prediction committed later than that after it was served (the async ledger
 * through a long database outage) lands inside a sealed range and reads as unrecorded.
 */

/** Rows per sealed block: a changed block is named by its first and last prediction. */
export const SEAL_BLOCK = 256;
/** Rows one seal covers at most; the job seals again until it has caught up. */
const SEAL_MAX_ROWS = 25_600;
/** Rows served this recently are left for the next seal (their group may not have committed yet). */
export const SEAL_GRACE_MS = 10 * 60_000;

export interface SealBlock {
  first: LogKey;
  last: LogKey;
  count: number;
  digest: string;
}
interface SealDetails {
  predictionSeal: { from: LogKey | null; to: LogKey; count: number; blocks: SealBlock[] };
}

const num = (v: number | string | null) => (v === null ? null : Number(v));

/**
 * The digest of one stored prediction: every column, numbers normalised across backends. A column
 * added later and still empty (`error`, migration 025) is left out, so blocks sealed before it existed
 * verify the same after the upgrade.
 */
export function predictionDigest(r: PredictionTable): string {
  const { error, ...rest } = r;
  return sha256Hex(
    canonicalJson({
      ...rest,
      ...(error === null || error === undefined ? {} : { error }),
      version: num(r.version),
      served_at: num(r.served_at),
      latency_us: num(r.latency_us),
    }),
  );
}

const keyOf = (r: PredictionTable): LogKey => ({ servedAt: Number(r.served_at), id: r.id });
const blockDigest = (rows: PredictionTable[]) => sha256Hex(rows.map(predictionDigest).join('\n'));

function sealOf(details: string | null): SealDetails['predictionSeal'] | undefined {
  return (JSON.parse(details ?? '{}') as Partial<SealDetails>).predictionSeal;
}

export interface PredictionSealer {
  /** Seals what was served before now - graceMs and not sealed yet; returns how many rows it sealed. */
  seal(options?: { graceMs?: number }): Promise<number>;
}

/** The sealer the `audit.seal-predictions` job runs. */
export function createPredictionSealer(deps: {
  db: Db;
  dialect: Dialect;
  audit: { append(tx: Executor, event: AuditEvent): Promise<unknown> };
  clock: Clock;
}): PredictionSealer {
  const { db, dialect, audit, clock } = deps;
  async function sealOnce(graceMs: number): Promise<number> {
    return inTransaction(db, async (tx) => {
      // Under the chain lock, two sealers (two replicas) never seal the same rows twice.
      await repo.lockChain({ tx, dialect });
      const last = await seals.findLastSeal(tx);
      const from = last ? (sealOf(last.details)?.to ?? null) : null;
      const rows = await seals.listUnsealed(tx, from, clock.now() - graceMs, SEAL_MAX_ROWS);
      if (rows.length === 0) return 0;
      const blocks: SealBlock[] = [];
      for (let i = 0; i < rows.length; i += SEAL_BLOCK) {
        const block = rows.slice(i, i + SEAL_BLOCK);
        blocks.push({
          first: keyOf(block[0]!),
          last: keyOf(block[block.length - 1]!),
          count: block.length,
          digest: blockDigest(block),
        });
      }
      const to = keyOf(rows[rows.length - 1]!);
      await audit.append(tx, {
        actor: 'system',
        action: seals.SEAL_ACTION,
        entityType: 'prediction_log',
        entityId: 'predictions',
        details: { predictionSeal: { from, to, count: rows.length, blocks } } satisfies SealDetails,
      });
      return rows.length;
    });
  }
  return {
    async seal(options = {}) {
      let total = 0;
      for (;;) {
        const n = await sealOnce(options.graceMs ?? SEAL_GRACE_MS);
        total += n;
        if (n < SEAL_MAX_ROWS) return total;
      }
    },
  };
}

const show = (k: LogKey) => k.id;

/** --deep: every sealed block read back; names each block whose rows differ from its seal. */
export async function predictionSealProblems(db: Db, upTo: number): Promise<AuditProblem[]> {
  const problems: AuditProblem[] = [];
  for (let afterSeq = 0; ; ) {
    const page = await seals.listSeals(db, afterSeq, upTo);
    for (const entry of page) {
      const seal = sealOf(entry.details);
      if (!seal) continue;
      const total = await seals.countRange(db, seal.from, seal.to);
      if (total !== seal.count) {
        problems.push({
          kind: total < seal.count ? 'row-missing' : 'row-unrecorded',
          seq: entry.seq,
          message: `predictions ${seal.from ? `after ${show(seal.from)}` : 'from the first'} to ${show(seal.to)}: ${total} rows, entry ${entry.seq} sealed ${seal.count}`,
        });
      }
      for (const block of seal.blocks) {
        const rows = await seals.listRange(db, block.first, block.last);
        const ids = new Set(rows.map((r) => r.id));
        const range = `predictions ${show(block.first)} to ${show(block.last)}`;
        if (!ids.has(block.first.id) || !ids.has(block.last.id) || rows.length < block.count) {
          problems.push({
            kind: 'row-missing',
            seq: entry.seq,
            message: `${range}: ${rows.length} rows, entry ${entry.seq} sealed ${block.count}${ids.has(block.first.id) ? '' : `; ${block.first.id} is gone`}${ids.has(block.last.id) ? '' : `; ${block.last.id} is gone`}`,
          });
        } else if (rows.length > block.count) {
          problems.push({
            kind: 'row-unrecorded',
            seq: entry.seq,
            message: `${range}: ${rows.length} rows, entry ${entry.seq} sealed ${block.count}`,
          });
        } else if (blockDigest(rows) !== block.digest) {
          problems.push({
            kind: 'row-changed',
            seq: entry.seq,
            message: `${range}: the rows differ from what entry ${entry.seq} sealed`,
          });
        }
      }
    }
    if (page.length === 0) return problems;
    afterSeq = page[page.length - 1]!.seq;
  }
}
