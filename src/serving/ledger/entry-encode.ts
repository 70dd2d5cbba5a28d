import type { PredictionOutput } from '../serving.schema.js';
import { ColumnKind, OutputShape, OutputTag, type PackedEntry, RecordTag, ValueTag } from './entry-layout.js';
import { finishEntry, Streams } from './entry-streams.js';
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

const out = new Streams();
/**
 * The numbers of the columnar records, column-major (column j of the q-th columnar record at j * n + q),
 * stored straight from the records (a number put in a plain array would be boxed). A column that
 * holds anything else is packed value by value from the records instead (`fitRows` says which).
 */
let numbers = new Float64Array(4096);
/** Per input column: 1 once a value that is not a number was seen. */
let tagged = new Uint8Array(64);
/** The index of each columnar record (q-th columnar record at q). */
let fitRows = new Uint32Array(256);
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
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  (v as { toJSON?: unknown }).toJSON === undefined;

/** Whether a record fits the columns `keys` (as its q-th columnar record); its numbers are stored. */
function walk(r: unknown, keys: string[], n: number, q: number): boolean {
  if (!isObject(r)) return false;
  const m = keys.length;
  let j = 0;
  for (const k in r) {
    if (j === m || k !== keys[j]) return false;
    const v = r[k];
    if (typeof v === 'number') numbers[j * n + q] = v;
    else if (v === null || typeof v === 'string' || typeof v === 'boolean') tagged[j] = 1;
    else return false;
    j++;
  }
  return j === m;
}

/** Inputs: the feature names, a tag per record (+ the JSON of irregular ones), then the columns. */
function packInputs(s: Streams, inputs: Record<string, unknown>[], from: number, to: number): void {
  const n = to - from;
  const first = inputs[from];
  let names = isObject(first) ? lastInputNames : NO_NAMES;
  const most = names.keys.length;
  if (numbers.length < n * most) numbers = new Float64Array(n * most * 2);
  if (tagged.length < most) tagged = new Uint8Array(most * 2);
  if (fitRows.length < n) fitRows = new Uint32Array(n * 2);
  tagged.fill(0);
  // The names of the last request, unless the first record says otherwise.
  let firstFits = walk(first, names.keys, n, 0);
  if (!firstFits && isObject(first)) {
    const mine = namesOf(first, names);
    if (mine !== names) {
      names = mine;
      lastInputNames = mine;
      const m = mine.keys.length;
      if (numbers.length < n * m) numbers = new Float64Array(n * m * 2);
      if (tagged.length < m) tagged = new Uint8Array(m * 2);
      tagged.fill(0);
      firstFits = walk(first, names.keys, n, 0);
    }
  }
  const keys = names.keys;
  const m = keys.length;
  s.str(names.json);
  let fit = 0;
  for (let i = from; i < to; i++) {
    const r = inputs[i];
    if (i === from ? firstFits : walk(r, keys, n, fit)) {
      s.byte(RecordTag.Columnar);
      fitRows[fit++] = i;
    } else {
      s.byte(RecordTag.Json);
      s.str(JSON.stringify(r));
    }
  }
  for (let j = 0; j < m; j++) {
    if (tagged[j] === 0) {
      s.byte(ColumnKind.Float64);
      s.nums(numbers, j * n, fit);
    } else {
      s.byte(ColumnKind.Tagged);
      const key = keys[j] as string;
      for (let q = 0; q < fit; q++)
        packValue(s, (inputs[fitRows[q] as number] as Record<string, unknown>)[key]);
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
  json?: readonly (string | undefined)[],
): void {
  const { shape, classes } = outputs
    ? shapeOf(outputs, from, to)
    : { shape: OutputShape.None, classes: NO_NAMES };
  s.byte(shape);
  if (shape === OutputShape.Probabilities) s.str(classes.json);
  const keys = classes.keys;
  const k = keys.length;
  const n = to - from;
  if (probs.length < n * k) probs = new Float64Array(n * k * 2);
  if (numbers.length < n) numbers = new Float64Array(n * 2);
  if (fitRows.length < n) fitRows = new Uint32Array(n * 2);
  let fit = 0;
  let numeric = true;
  for (let i = from; i < to; i++) {
    const o = outputs?.[i];
    if (o === null || o === undefined) {
      s.byte(missing);
      continue;
    }
    if (shape !== OutputShape.None && fitsShape(o, shape, keys, fit)) {
      const p = o.prediction;
      if (typeof p === 'number') numbers[fit] = p;
      else numeric = false;
      fitRows[fit++] = i;
      s.byte(OutputTag.Columnar);
    } else {
      s.byte(OutputTag.Json);
      s.str(json?.[i] ?? JSON.stringify(o));
    }
  }
  if (fit === 0 || outputs === null) return;
  s.byte(numeric ? ColumnKind.Float64 : ColumnKind.Tagged);
  if (numeric) s.nums(numbers, 0, fit);
  else
    for (let q = 0; q < fit; q++)
      packValue(s, (outputs[fitRows[q] as number] as PredictionOutput).prediction);
  s.nums(probs, 0, fit * k);
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

/** The JSON of the columns every request of a model version shares, kept while they stay the same. */
const lastShared = {
  modelVersionId: '',
  model: '',
  version: Number.NaN,
  alias: null as string | null,
  role: '',
  shadowVersionId: null as string | null,
  shadowError: null as string | null,
  json: '',
};

function sharedJson(b: PredictionBatch): string {
  const c = lastShared;
  const shadowVersionId = b.shadow?.modelVersionId ?? null;
  const shadowError = b.shadow?.error ?? null;
  if (
    b.modelVersionId !== c.modelVersionId ||
    b.model !== c.model ||
    b.version !== c.version ||
    b.alias !== c.alias ||
    b.role !== c.role ||
    shadowVersionId !== c.shadowVersionId ||
    shadowError !== c.shadowError
  ) {
    c.modelVersionId = b.modelVersionId;
    c.model = b.model;
    c.version = b.version;
    c.alias = b.alias;
    c.role = b.role;
    c.shadowVersionId = shadowVersionId;
    c.shadowError = shadowError;
    c.json = JSON.stringify([
      b.modelVersionId,
      b.model,
      b.version,
      b.alias,
      b.role,
      shadowVersionId,
      shadowError,
    ]);
  }
  return c.json;
}

/** A string or null: a flag byte, then the string. */
function packNullable(s: Streams, v: string | null | undefined): void {
  if (v === null || v === undefined) s.byte(0);
  else {
    s.byte(1);
    s.str(v);
  }
}

/** Packs records [from, to) of a request's batch. */
export function encodeEntry(b: PredictionBatch, from: number, to: number): PackedEntry {
  const s = out;
  s.reset();
  // The shared columns: what stays the same across requests as one cached JSON text, the rest apart.
  s.str(sharedJson(b));
  s.num(b.servedAt);
  s.num(Math.max(0, Math.round(b.latencyUs)));
  packNullable(s, b.requestKey);
  // A failed request's rows: the error once, and JSON null as each row's outputs.
  packNullable(s, b.error ? JSON.stringify(b.error) : null);
  for (let i = from; i < to; i++) s.str(b.ids[i] as string);
  packInputs(s, b.inputs, from, to);
  packOutputs(s, b.error ? null : b.outputs, from, to, OutputTag.JsonNull, b.outputsJson);
  packOutputs(s, b.shadow?.outputs ?? null, from, to, OutputTag.Absent);
  return finishEntry(s, to - from, b.deploymentId);
}
