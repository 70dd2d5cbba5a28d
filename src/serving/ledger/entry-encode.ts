import type { PredictionOutput } from '../serving.schema.js';
import {
  ColumnKind,
  ENTRY_VERSION,
  HEADER_BYTES,
  LITTLE_ENDIAN,
  OutputShape,
  OutputTag,
  type PackedEntry,
  PoolEncoding,
  RecordTag,
  swapWords,
  ValueTag,
} from './entry-layout.js';
import type { PredictionBatch } from './prediction-batch.js';

/*
 * Packs a request's records into a binary entry (layout: entry-layout.ts) on the event loop. What it
 * does per record is a walk over the record's keys and a store per value into scratch typed arrays;
 * the only JSON it writes is of the shared columns (once per request), of names it has not packed
 * before, and of records that do not fit the columns (irregular ones are rare: the record checks give
 * every record the model's features).
 *
 * A record fits the columns when its keys are the first record's, in the same order, and every value
 * is a number, string, boolean or null: its JSON text is then rebuilt exactly (same keys, same order,
 * same number text: a float64 holds a JSON number exactly, and -0, NaN and the infinities come back
 * as JSON.stringify writes them: 0 and null). An output fits when it is { prediction } or
 * { prediction, probabilities } shaped as the first one (same classes, same order, numbers only).
 */

/** The scratch streams of the entry being packed (reused: packing is synchronous). */
class Streams {
  f = new Float64Array(4096);
  nf = 0;
  u = new Uint32Array(1024);
  nu = 0;
  b = new Uint8Array(1024);
  nb = 0;
  pool = '';

  reset(): void {
    this.nf = 0;
    this.nu = 0;
    this.nb = 0;
    this.pool = '';
  }
  num(v: number): void {
    if (this.nf === this.f.length) this.f = grown(this.f, new Float64Array(this.f.length * 2));
    this.f[this.nf++] = v;
  }
  word(v: number): void {
    if (this.nu === this.u.length) this.u = grown(this.u, new Uint32Array(this.u.length * 2));
    this.u[this.nu++] = v;
  }
  byte(v: number): void {
    if (this.nb === this.b.length) this.b = grown(this.b, new Uint8Array(this.b.length * 2));
    this.b[this.nb++] = v;
  }
  str(s: string): void {
    this.word(s.length);
    this.pool += s;
  }
}

function grown<T extends Float64Array | Uint32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

const out = new Streams();
/** Values of the columnar records, column-major (column j of record r at j * n + r). */
let values: unknown[] = [];
/** Per input column: 1 once a value that is not a number was seen. */
let tagged = new Uint8Array(64);
/** Probabilities of the columnar outputs, row-major. */
let probs = new Float64Array(256);

/** A list of names (features, classes) with its JSON text, packed once per distinct list. */
interface Names {
  keys: string[];
  json: string;
}
const NO_NAMES: Names = { keys: [], json: '[]' };
/** The lists seen lately, by their keys joined (looked up only when the list changes). */
const namesSeen = new Map<string, Names>();
let lastInputNames = NO_NAMES;
let lastClassNames = NO_NAMES;

const isWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;

/** The names of an object's keys in order, reusing `last` (and its JSON) when they are the same. */
function namesOf(o: object, last: Names): Names {
  let j = 0;
  let same = true;
  for (const k in o) {
    if (j >= last.keys.length || k !== last.keys[j]) {
      same = false;
      break;
    }
    j++;
  }
  if (same && j === last.keys.length) return last;
  const keys: string[] = [];
  for (const k in o) keys.push(k);
  const id = keys.join('\u0000');
  let names = namesSeen.get(id);
  if (!names) {
    if (namesSeen.size >= 256) namesSeen.clear();
    names = { keys, json: JSON.stringify(keys) };
    namesSeen.set(id, names);
  }
  return names;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { toJSON?: unknown }).toJSON === undefined;

/** Inputs: the feature names, a tag per record (+ the JSON of irregular ones), then the columns. */
function packInputs(s: Streams, inputs: Record<string, unknown>[], from: number, to: number): void {
  const n = to - from;
  const first = inputs[from];
  const names = isObject(first) ? namesOf(first, lastInputNames) : NO_NAMES;
  if (names !== NO_NAMES) lastInputNames = names;
  const keys = names.keys;
  const m = keys.length;
  s.str(names.json);
  if (values.length < n * m) values = new Array(n * m);
  if (tagged.length < m) tagged = new Uint8Array(m * 2);
  tagged.fill(0, 0, m);
  let fit = 0;
  for (let i = from; i < to; i++) {
    const r = inputs[i];
    let ok = isObject(r);
    if (ok) {
      let j = 0;
      for (const k in r) {
        const v = (r as Record<string, unknown>)[k];
        if (j === m || k !== keys[j]) {
          ok = false;
          break;
        }
        if (typeof v !== 'number') {
          if (v === null || typeof v === 'string' || typeof v === 'boolean') tagged[j] = 1;
          else {
            ok = false;
            break;
          }
        }
        values[j * n + fit] = v;
        j++;
      }
      if (j !== m) ok = false;
    }
    if (ok) {
      s.byte(RecordTag.Columnar);
      fit++;
    } else {
      s.byte(RecordTag.Json);
      s.str(JSON.stringify(r));
    }
  }
  for (let j = 0; j < m; j++) {
    const at = j * n;
    if (tagged[j] === 0) {
      s.byte(ColumnKind.Float64);
      for (let r = 0; r < fit; r++) s.num(values[at + r] as number);
    } else {
      s.byte(ColumnKind.Tagged);
      for (let r = 0; r < fit; r++) packValue(s, values[at + r]);
    }
  }
}

/** One value of a tagged column. */
function packValue(s: Streams, v: unknown): void {
  switch (typeof v) {
    case 'number':
      s.byte(ValueTag.Number);
      s.num(v);
      return;
    case 'string':
      s.byte(ValueTag.String);
      s.str(v);
      return;
    case 'boolean':
      s.byte(v ? ValueTag.True : ValueTag.False);
      return;
    default:
      s.byte(ValueTag.Null);
  }
}

const isPrimitive = (v: unknown): boolean =>
  v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';

/** The columnar shape of outputs, from the first one present (None when it does not fit). */
function shapeOf(outputs: readonly (PredictionOutput | null | undefined)[], from: number, to: number) {
  for (let i = from; i < to; i++) {
    const o = outputs[i];
    if (o === null || o === undefined) continue;
    if (!isObject(o)) return { shape: OutputShape.None, classes: NO_NAMES };
    let j = 0;
    let p: unknown;
    for (const k in o) {
      if (j === 0 && k !== 'prediction') return { shape: OutputShape.None, classes: NO_NAMES };
      if (j === 1) {
        if (k !== 'probabilities') return { shape: OutputShape.None, classes: NO_NAMES };
        p = (o as Record<string, unknown>)[k];
      }
      j++;
    }
    if (j === 1) return { shape: OutputShape.Prediction, classes: NO_NAMES };
    if (j !== 2 || !isObject(p)) return { shape: OutputShape.None, classes: NO_NAMES };
    lastClassNames = namesOf(p, lastClassNames);
    return { shape: OutputShape.Probabilities, classes: lastClassNames };
  }
  return { shape: OutputShape.None, classes: NO_NAMES };
}

/**
 * Outputs (the model's or the shadow's): the shape, a tag per record (+ the JSON of irregular ones),
 * then the prediction column and the probability matrix of the columnar ones. `missing` is the tag of
 * a record without outputs (all of them when `outputs` is null).
 */
function packOutputs(
  s: Streams,
  outputs: readonly (PredictionOutput | null | undefined)[] | null,
  from: number,
  to: number,
  missing: number,
): void {
  const { shape, classes } = outputs ? shapeOf(outputs, from, to) : { shape: OutputShape.None, classes: NO_NAMES };
  s.byte(shape);
  if (shape === OutputShape.Probabilities) s.str(classes.json);
  const keys = classes.keys;
  const k = keys.length;
  const n = to - from;
  if (values.length < n) values = new Array(n);
  if (probs.length < n * k) probs = new Float64Array(n * k * 2);
  let fit = 0;
  for (let i = from; i < to; i++) {
    const o = outputs?.[i];
    if (o === null || o === undefined) {
      s.byte(missing);
      continue;
    }
    if (shape !== OutputShape.None && fitsShape(o, shape, keys, fit)) {
      values[fit++] = o.prediction;
      s.byte(OutputTag.Columnar);
    } else {
      s.byte(OutputTag.Json);
      s.str(JSON.stringify(o));
    }
  }
  if (fit === 0) return;
  let numeric = true;
  for (let r = 0; r < fit; r++) if (typeof values[r] !== 'number') numeric = false;
  s.byte(numeric ? ColumnKind.Float64 : ColumnKind.Tagged);
  for (let r = 0; r < fit; r++) {
    if (numeric) s.num(values[r] as number);
    else packValue(s, values[r]);
  }
  for (let q = 0; q < fit * k; q++) s.num(probs[q] as number);
}

/** Whether an output has the shape (its probabilities then written as row `row` of the matrix). */
function fitsShape(o: PredictionOutput, shape: number, classes: string[], row: number): boolean {
  if (!isObject(o)) return false;
  let j = 0;
  let p: unknown;
  for (const key in o) {
    if (j === 0 ? key !== 'prediction' : j > 1 || key !== 'probabilities') return false;
    if (j === 1) p = (o as Record<string, unknown>)[key];
    j++;
  }
  if (j !== (shape === OutputShape.Probabilities ? 2 : 1) || !isPrimitive(o.prediction)) return false;
  if (shape !== OutputShape.Probabilities) return true;
  if (!isObject(p)) return false;
  const k = classes.length;
  let c = 0;
  for (const key in p) {
    const v = p[key];
    if (c === k || key !== classes[c] || typeof v !== 'number') return false;
    probs[row * k + c] = v;
    c++;
  }
  return c === k;
}

/** Packs records [from, to) of a request's batch. */
export function encodeEntry(b: PredictionBatch, from: number, to: number): PackedEntry {
  const s = out;
  s.reset();
  s.str(
    JSON.stringify([
      b.modelVersionId,
      b.model,
      b.version,
      b.alias,
      b.role,
      b.servedAt,
      b.requestKey,
      Math.max(0, Math.round(b.latencyUs)),
      b.shadow?.modelVersionId ?? null,
      b.shadow?.error ?? null,
      // A failed request's rows: the error once, and JSON null as each row's outputs.
      b.error ? JSON.stringify(b.error) : null,
    ]),
  );
  for (let i = from; i < to; i++) s.str(b.ids[i] as string);
  packInputs(s, b.inputs, from, to);
  packOutputs(s, b.error ? null : b.outputs, from, to, OutputTag.JsonNull);
  packOutputs(s, b.shadow?.outputs ?? null, from, to, OutputTag.Absent);
  return finish(s, to - from, b.deploymentId);
}

/** The streams as one entry's bytes. */
function finish(s: Streams, rows: number, deploymentId: string): PackedEntry {
  const pool = s.pool;
  const utf8 = isWellFormed !== undefined && isWellFormed.call(pool);
  const poolBytes = utf8 ? Buffer.byteLength(pool, 'utf8') : pool.length * 2;
  const idBytes = Buffer.byteLength(deploymentId, 'utf8');
  if (idBytes > 0xffff) throw new Error('a deployment id longer than 65,535 bytes cannot be logged');
  const f64At = HEADER_BYTES;
  const u32At = f64At + s.nf * 8;
  const u8At = u32At + s.nu * 4;
  const idAt = u8At + s.nb;
  const poolAt = idAt + idBytes;
  const bytes = Buffer.allocUnsafe(poolAt + poolBytes);
  const h = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  h.setUint32(0, ENTRY_VERSION | ((utf8 ? PoolEncoding.Utf8 : PoolEncoding.Utf16) << 8) | (idBytes << 16), true);
  h.setUint32(4, rows, true);
  h.setUint32(8, s.nf, true);
  h.setUint32(12, s.nu, true);
  h.setUint32(16, s.nb, true);
  h.setUint32(20, poolBytes, true);
  h.setUint32(24, pool.length, true);
  h.setUint32(28, 0, true);
  bytes.set(new Uint8Array(s.f.buffer, 0, s.nf * 8), f64At);
  bytes.set(new Uint8Array(s.u.buffer, 0, s.nu * 4), u32At);
  if (!LITTLE_ENDIAN) {
    swapWords(bytes.subarray(f64At, u32At), 8);
    swapWords(bytes.subarray(u32At, u8At), 4);
  }
  bytes.set(s.b.subarray(0, s.nb), u8At);
  bytes.write(deploymentId, idAt, idBytes, 'utf8');
  bytes.write(pool, poolAt, poolBytes, utf8 ? 'utf8' : 'utf16le');
  s.pool = '';
  return { rows, deploymentId, bytes };
}
