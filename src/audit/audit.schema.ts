import { z } from 'zod';
import type { GovernedRow } from './governed-rows.js';

/** What a caller says about a change; the chain adds sequence, time and hashes. */
export interface AuditEvent {
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  /** State before the change (digested, not stored). */
  before?: unknown;
  /** State after the change (digested, not stored). */
  after?: unknown;
  /** Small, non-secret facts worth reading later (stored as JSON). */
  details?: Record<string, unknown>;
  /** The governed rows this change leaves behind (stored in details; `verify --deep` checks the tables against them). */
  governed?: GovernedRow[];
}

export const auditEntrySchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  entityType: z.string(),
  entityId: z.string(),
  beforeDigest: z.string().nullable(),
  afterDigest: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditProblemSchema = z.object({
  kind: z.enum([
    'edited',
    'missing',
    'inserted',
    'reordered',
    'truncated',
    'bad-signature',
    'checkpoint-mismatch',
    /** A checkpoint row the chain of checkpoints names is gone. */
    'checkpoint-missing',
    /** The database is behind (or beside) the head witness kept outside it: rolled back or wiped. */
    'rolled-back',
    /** --deep: a governed row differs from what its last audit entry recorded. */
    'row-changed',
    /** --deep: a governed row that no audit entry records (inserted behind the log's back). */
    'row-unrecorded',
    /** --deep: a recorded governed row that is gone from its table. */
    'row-missing',
  ]),
  seq: z.number().int().nullable(),
  message: z.string(),
});
export type AuditProblem = z.infer<typeof auditProblemSchema>;

export const auditVerifyResultSchema = z.object({
  ok: z.boolean(),
  entries: z.number().int(),
  head: z.object({ seq: z.number().int(), hash: z.string() }).nullable(),
  checkpoints: z.number().int(),
  /** The entry the head witness outside the database vouches for (null: this log keeps none). */
  witness: z.number().int().nullable(),
  problems: z.array(auditProblemSchema),
});
export type AuditVerifyResult = z.infer<typeof auditVerifyResultSchema>;

/** The hash of the chain before its first entry. */
export const GENESIS_HASH = '0'.repeat(64);
