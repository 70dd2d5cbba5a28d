import { type AppError, UpstreamError, UpstreamTimeoutError } from '../../core/errors.js';
import type { EndpointResilience } from '../../registry/index.js';

/*
 * The gateway's one way out to an external model server: a deadline per attempt, bounded retries with
 * exponential backoff for failures that are safe to repeat (a refused or reset connection, 502/503/504),
 * and a circuit breaker: after `breakerFailures` consecutive failed calls it opens and calls fail at
 * once; after `breakerResetMs` one probe call goes through (half-open), and its outcome closes or
 * re-opens it. Every failure is an UpstreamError (502) or UpstreamTimeoutError (504): an upstream's
 * fault is never reported as ours, nor as the caller's.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface UpstreamClient {
  /** One JSON call (GET without a body, POST with one): the parsed answer, or an upstream error. */
  call(method: 'GET' | 'POST', url: string, body?: unknown): Promise<unknown>;
  breaker(): { state: BreakerState; consecutiveFailures: number };
}

/** Upstream answers longer than this are refused (a runaway or hostile server must not exhaust memory). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

interface Failure {
  error: AppError;
  /** Safe to try again at once (nothing reached the model, or the server said "not now"). */
  retryable: boolean;
  /** Counts towards opening the circuit (a 4xx answer does not: the server is up and judging). */
  counts: boolean;
}

function snippet(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 200)}...` : t;
}

/** The upstream's own error message when its body says one (MLflow, OIP and most JSON servers do). */
function upstreamMessage(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    for (const k of ['message', 'error', 'detail']) {
      const v = body?.[k];
      if (typeof v === 'string') return snippet(v);
      if (v && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string')
        return snippet((v as { message: string }).message);
    }
  } catch {
    // not JSON: the text itself
  }
  return snippet(text);
}

export function createUpstreamClient(opts: {
  /** Names the upstream in messages (`<model>@<n> at <host>`). */
  label: string;
  resilience: EndpointResilience;
  now?: () => number;
}): UpstreamClient {
  const r = opts.resilience;
  const now = opts.now ?? Date.now;
  let state: BreakerState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let probing = false;

  async function attempt(method: 'GET' | 'POST', url: string, body: unknown): Promise<unknown> {
    const where = new URL(url).host;
    const fail = (f: Failure): never => {
      throw f;
    };
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(r.timeoutMs),
        redirect: 'error',
      });
      const length = Number(res.headers.get('content-length') ?? 0);
      if (length > MAX_ANSWER_BYTES) {
        await res.body?.cancel();
        return fail({
          error: new UpstreamError(
            `${opts.label} answered ${length} bytes (at most ${MAX_ANSWER_BYTES} are read)`,
            {
              upstream: where,
            },
          ),
          retryable: false,
          counts: true,
        });
      }
      const read = await readCapped(res, MAX_ANSWER_BYTES);
      if (read === undefined) {
        return fail({
          error: new UpstreamError(
            `${opts.label} answered more than ${MAX_ANSWER_BYTES} bytes (at most that many are read)`,
            {
              upstream: where,
            },
          ),
          retryable: false,
          counts: true,
        });
      }
      text = read;
    } catch (err) {
      if (isFailure(err)) throw err;
      const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        return fail({
          error: new UpstreamTimeoutError(`${opts.label} did not answer within ${r.timeoutMs} ms`, {
            upstream: where,
            timeoutMs: r.timeoutMs,
          }),
          retryable: false,
          counts: true,
        });
      }
      const code = e.cause?.code ?? 'ERROR';
      return fail({
        error: new UpstreamError(
          `${opts.label} cannot be reached (${code}: ${snippet(e.cause?.message ?? e.message ?? String(err))})`,
          { upstream: where, cause: code },
        ),
        retryable: code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET',
        counts: true,
      });
    }
    if (!res.ok) {
      return fail({
        error: new UpstreamError(
          `${opts.label} answered HTTP ${res.status}${text ? `: ${upstreamMessage(text)}` : ''}`,
          { upstream: where, upstreamStatus: res.status },
        ),
        retryable: res.status === 502 || res.status === 503 || res.status === 504,
        counts: res.status >= 500,
      });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return fail({
        error: new UpstreamError(
          `${opts.label} answered something that is not JSON: ${snippet(text) || '(empty)'}`,
          {
            upstream: where,
          },
        ),
        retryable: false,
        counts: true,
      });
    }
  }

  function admit(): boolean {
    if (state === 'closed') return false;
    const waited = now() - openedAt;
    if (state === 'open' && waited >= r.breakerResetMs && !probing) {
      state = 'half-open';
      probing = true;
      return true;
    }
    throw new UpstreamError(
      `${opts.label}: the circuit is open after ${failures} consecutive failures; calls resume within ${Math.max(0, r.breakerResetMs - waited)} ms`,
      { circuit: 'open', retryInMs: Math.max(0, r.breakerResetMs - waited) },
    );
  }

  async function call(method: 'GET' | 'POST', url: string, body?: unknown): Promise<unknown> {
    const probe = admit();
    try {
      for (let k = 0; ; k++) {
        try {
          const answer = await attempt(method, url, body);
          state = 'closed';
          failures = 0;
          return answer;
        } catch (err) {
          const f = err as Failure;
          if (f.retryable && k < r.retries) {
            await new Promise((resolve) =>
              setTimeout(resolve, Math.min(r.backoffMs * 2 ** k, MAX_BACKOFF_MS)),
            );
            continue;
          }
          if (f.counts) {
            failures++;
            if (probe || failures >= r.breakerFailures) {
              state = 'open';
              openedAt = now();
            }
          } else if (probe) {
            // The server answered (a 4xx): it is up.
            state = 'closed';
            failures = 0;
          }
          throw f.error;
        }
      }
    } finally {
      if (probe) probing = false;
    }
  }

  return { call, breaker: () => ({ state, consecutiveFailures: failures }) };
}

function isFailure(err: unknown): err is Failure {
  return typeof err === 'object' && err !== null && 'error' in err && 'retryable' in err;
}

/** The longest wait between two attempts. */
const MAX_BACKOFF_MS = 5_000;

/** Reads an answer's body as text, or undefined once it passes `max` bytes (a body without a length too). */
async function readCapped(res: Response, max: number): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
