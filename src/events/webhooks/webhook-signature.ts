import { digestsEqual, hmacSha256Hex } from '../../core/hashing.js';

/*
 * The signature covers "<timestamp>.<body>": signing the timestamp too means a captured request cannot
 * be replayed later with a fresh timestamp, and receivers reject old timestamps.
 */

export const SIGNATURE_HEADER = 'x-sextant-signature';
export const TIMESTAMP_HEADER = 'x-sextant-timestamp';
export const EVENT_HEADER = 'x-sextant-event';
export const DELIVERY_HEADER = 'x-sextant-delivery';

/** `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the target's secret. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${hmacSha256Hex(secret, `${timestamp}.${body}`)}`;
}

/**
 * What a receiver does: true when the signature header matches the body and timestamp (unix seconds)
 * and the timestamp is within `toleranceSeconds` of `nowSeconds`.
 */
export function verifyWebhookSignature(input: {
  secret: string;
  body: string;
  timestamp: string | number;
  signature: string;
  nowSeconds?: number;
  toleranceSeconds?: number;
}): boolean {
  const ts = Number(input.timestamp);
  if (!Number.isInteger(ts)) return false;
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - ts) > (input.toleranceSeconds ?? 300)) return false;
  const m = /^sha256=([0-9a-f]{64})$/.exec(input.signature);
  if (!m) return false;
  return digestsEqual(m[1]!, hmacSha256Hex(input.secret, `${ts}.${input.body}`));
}
