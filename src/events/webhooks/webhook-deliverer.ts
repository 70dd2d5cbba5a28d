import { randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { type Db, inTransaction } from '../../store/index.js';
import { backoffMs } from '../backoff.js';
import { createDeliveryLoop } from '../delivery-loop.js';
import * as repo from './webhook.repo.js';
import type { SendRequest, SendResult } from './webhook-sender.js';
import {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
} from './webhook-signature.js';

export { backoffMs };

export interface DeliveryOptions {
  /** Attempts before a delivery is marked failed. */
  maxAttempts: number;
  /** Delay after the first failure; doubles per attempt, with jitter, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Budget of one attempt, redirects included. */
  requestTimeoutMs: number;
  /** How long a claim holds; longer than an attempt can take, so a live holder never loses it. */
  leaseMs: number;
  /** How often the loop looks for due retries while a server runs. */
  pollMs: number;
  /** Deliveries claimed per pass. */
  batch: number;
  maxRedirects: number;
  /** How long a CLI process waits, on exit, for what it emitted to be sent once. */
  flushTimeoutMs: number;
}

export const DEFAULT_DELIVERY_OPTIONS: DeliveryOptions = {
  maxAttempts: 8,
  baseDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  requestTimeoutMs: 10_000,
  leaseMs: 60_000,
  pollMs: 5_000,
  batch: 20,
  maxRedirects: 3,
  flushTimeoutMs: 5_000,
};

/** How one attempt of one delivery went. */
export interface AttemptOutcome {
  deliveryId: string;
  attempt: number;
  state: 'pending' | 'delivered' | 'failed';
  statusCode?: number;
  error?: string;
}

/**
 * Sends due deliveries. Any number of deliverers (server replicas, CLI processes) may run against one
 * database: each pass claims rows with a lease taken in a conditional UPDATE, so a delivery is sent by
 * one of them at a time; a crashed holder's lease expires and another resumes (at-least-once).
 */
export function createDeliverer(deps: {
  db: Db;
  clock: Clock;
  options: DeliveryOptions;
  send: (req: SendRequest) => Promise<SendResult>;
  random: () => number;
  /** The signing secret of a stored (sealed) value. */
  openSecret: (stored: string) => string;
}) {
  const { db, clock, options: o, send, random, openSecret } = deps;
  const instance = randomBytes(6).toString('hex');
  let pass = 0;

  async function attempt(row: repo.ClaimedDelivery, owner: string): Promise<AttemptOutcome> {
    const n = row.attempts + 1;
    const started = performance.now();
    const at = clock.now();
    const timestamp = Math.floor(at / 1000);
    const result: SendResult =
      row.target_deleted_at !== null
        ? { url: row.url, error: 'target removed', permanent: true }
        : await send({
            url: row.url,
            body: row.body,
            headers: {
              'content-type': 'application/json',
              'user-agent': 'Sextant-Webhooks/1',
              [EVENT_HEADER]: row.event_type,
              [DELIVERY_HEADER]: row.id,
              [TIMESTAMP_HEADER]: String(timestamp),
              [SIGNATURE_HEADER]: signWebhook(openSecret(row.secret), timestamp, row.body),
            },
          });
    const ok =
      result.statusCode !== undefined && result.statusCode >= 200 && result.statusCode < 300 && !result.error;
    const now = clock.now();
    const state = ok ? 'delivered' : result.permanent || n >= o.maxAttempts ? 'failed' : 'pending';
    const error = result.error?.slice(0, 1000);
    await inTransaction(db, (tx) =>
      repo.recordAttempt({
        tx,
        owner,
        attempt: {
          id: newId('wha', at),
          delivery_id: row.id,
          attempt: n,
          at,
          duration_ms: Math.round(performance.now() - started),
          url: result.url,
          status_code: result.statusCode ?? null,
          error: error ?? null,
        },
        set: {
          state,
          attempts: n,
          next_attempt_at: state === 'pending' ? now + backoffMs(o, n, random) : row.next_attempt_at,
          last_status: result.statusCode ?? null,
          last_error: error ?? null,
          finished_at: state === 'pending' ? null : now,
        },
      }),
    );
    return {
      deliveryId: row.id,
      attempt: n,
      state,
      ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}),
      ...(error ? { error } : {}),
    };
  }

  /** One pass: claim what is due (or exactly `ids`) and attempt each once. */
  async function runOnce(opts: { ids?: string[] } = {}): Promise<AttemptOutcome[]> {
    const owner = `${instance}:${++pass}`;
    const now = clock.now();
    const claimed = await repo.claimDue({
      tx: db,
      owner,
      now,
      leaseUntil: now + o.leaseMs,
      limit: opts.ids ? opts.ids.length : o.batch,
      ...(opts.ids ? { ids: opts.ids } : {}),
    });
    return Promise.all(claimed.map((row) => attempt(row, owner)));
  }

  const loop = createDeliveryLoop({
    runOnce,
    progress: async (ids) =>
      (await repo.deliveryProgress({ tx: db, ids })).map((d) => ({
        id: d.id,
        settled: d.state !== 'pending' || d.attempts > 0,
      })),
    pollMs: o.pollMs,
    flushTimeoutMs: o.flushTimeoutMs,
  });

  return { runOnce, ...loop };
}

export type Deliverer = ReturnType<typeof createDeliverer>;
