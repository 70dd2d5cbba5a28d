import { randomFillSync } from 'node:crypto';

/** Prefixes of every id kind; an id reads as `<prefix>_<ULID>`, e.g. run_01J9Z3.... */
export type IdPrefix =
  | 'run'
  | 'usr'
  | 'tok'
  | 'aud'
  | 'art'
  | 'inp'
  | 'req'
  | 'evt'
  | 'evd'
  | 'whk'
  | 'whd'
  | 'wha'
  | 'dst'
  | 'dsv'
  | 'mdl'
  | 'mv'
  | 'prq'
  | 'ale'
  | 'pdc'
  | 'dqs'
  | 'dqr'
  | 'dep'
  | 'pred'
  /** A segment of the columnar prediction log. */
  | 'pseg'
  | 'job'
  | 'jba'
  /** A registered pipeline version, and one run of it. */
  | 'ppl'
  | 'plr'
  /** A process serving a deployment (its heartbeat). */
  | 'rt'
  /** A pipeline trigger, and one firing of it. */
  | 'trg'
  | 'trf'
  /** A cost budget (cost/budgets). */
  | 'bud'
  /** One thing the idle reaper did (cost/reaper). */
  | 'rpa'
  /** A usage record of the cost meters (one metered run, attempt, deployment interval). */
  | 'use'
  /** Monitoring: a monitor, a reference it measures against, one run of it, one metric point. */
  | 'mon'
  | 'mref'
  | 'mrun'
  | 'mpt'
  /** A monitoring alert. */
  | 'alr';

/*
 * Monotonic ULIDs (https://github.com/ulid/spec), lower-cased: 10 Crockford base-32 characters of
 * epoch ms, then 16 of randomness (80 bits). Within one millisecond the randomness of the previous id
 * is incremented by one, so ids of one process sort in the order they were made; a new millisecond
 * draws fresh randomness (10 bytes from a pooled crypto buffer: one randomFillSync per 409 draws).
 * The 80 bits are held as two 40-bit halves in plain numbers (exact below 2^53).
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const HALF = 2 ** 40;
const MAX_TIME = 2 ** 48 - 1;

const pool = Buffer.allocUnsafe(4096);
let poolAt = pool.length;

let lastTime = -1;
let timePart = '';
let hi = 0;
let lo = 0;
let hiPart = '';

/** Every 10-bit value as its 2 base-32 characters (ids are made per predicted record: a hot path). */
const PAIRS = Array.from({ length: 1024 }, (_, v) => ALPHABET[v >> 5]! + ALPHABET[v & 31]!);

/** 40 bits as 8 base-32 characters. */
function encode40(n: number): string {
  const high = Math.floor(n / 1_048_576);
  const low = n - high * 1_048_576;
  return PAIRS[high >> 10]! + PAIRS[high & 1023]! + PAIRS[low >> 10]! + PAIRS[low & 1023]!;
}

function encodeTime(t: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    const d = t % 32;
    out = ALPHABET[d] + out;
    t = (t - d) / 32;
  }
  return out;
}

function draw(): void {
  if (poolAt + 10 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  hi = pool.readUIntBE(poolAt, 5);
  lo = pool.readUIntBE(poolAt + 5, 5);
  poolAt += 10;
  hiPart = encode40(hi);
}

/** The next ULID (upper 26 characters lower-cased), strictly greater than the previous one. */
function next(now: number): string {
  const t = Number.isFinite(now) && now > 0 ? Math.min(MAX_TIME, Math.floor(now)) : Date.now();
  if (t > lastTime) {
    lastTime = t;
    timePart = encodeTime(t);
    draw();
  } else if (++lo === HALF) {
    lo = 0;
    if (++hi === HALF) {
      // 2^80 ids in one millisecond cannot happen; a wrap moves to the next millisecond instead.
      lastTime++;
      timePart = encodeTime(lastTime);
      draw();
    } else hiPart = encode40(hi);
  }
  return timePart + hiPart + encode40(lo);
}

/** A new prefixed, lexicographically time-sortable id. */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${next(now)}`;
}

/**
 * `count` new ids, as newId would make them one after the other (same format, increasing), for the
 * records of one request: one random draw at most, the rest are increments.
 */
export function newIds(prefix: IdPrefix, count: number, now: number = Date.now()): string[] {
  const out = new Array<string>(count);
  const p = `${prefix}_`;
  for (let i = 0; i < count; i++) out[i] = p + next(now);
  return out;
}

/**
 * A logged model's id: `m-<ULID>`. MLflow 3 clients recognise `models:/<id>` as a logged model (not a
 * registered model's name) by the `m-` prefix, so this kind keeps MLflow's spelling.
 */
export function newLoggedModelId(now: number = Date.now()): string {
  return `m-${next(now)}`;
}
