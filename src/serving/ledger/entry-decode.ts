import { type RecordMaker, recordMaker } from '../../core/record-maker.js';
import {
  ColumnKind,
  type EntryHeader,
  LITTLE_ENDIAN,
  OutputShape,
  OutputTag,
  PoolEncoding,
  RecordTag,
  readHeader,
  swapWords,
  ValueTag,
} from './entry-layout.js';
import type { Cell } from './prediction-batch.js';

/*
 * Unpacks a binary entry (entry-layout.ts) into the cells of its rows, the JSON columns rebuilt as
 * the text JSON.stringify gave before entries were binary: inputs keep their keys' order, numbers print
 * as JSON prints them. It runs where rows are written (the SQLite writer thread, the sealer, the
 * PostgreSQL insert), never per record on the serving event loop.
 */

/** The rows of one entry: the columns they share once, the JSON columns one per row. */
export interface DecodedEntry {
  rows: number;
  deploymentId: string;
  /** model_version_id, model, version, alias, role, served_at, request_key, latency_us, shadow_version_id, shadow_error, error. */
  shared: Cell[];
  ids: string[];
  /** Each record's inputs JSON text (a columnar record's is left undefined when decoded with `columnarText: false`). */
  inputs: (string | undefined)[];
  /**
   * The columnar records' inputs as the entry holds them, per feature (undefined when the entry has
   * none): the sealer fills typed input columns from these, without an object per row.
   */
  inputColumns: EntryInputs | undefined;
  outputs: string[];
  shadowOutputs: (string | null)[];
}

/** Reads the streams of an entry in the order entry-encode.ts wrote them. */
class Reader {
  readonly f: Float64Array;
  readonly u: Uint32Array;
  readonly b: Uint8Array;
  readonly pool: string;
  readonly deploymentId: string;
  fi = 0;
  ui = 0;
  bi = 0;
  pi = 0;

  constructor(bytes: Uint8Array, h: EntryHeader) {
    this.f = section(bytes, h.f64At, h.f64, 8, Float64Array);
    this.u = section(bytes, h.u32At, h.u32, 4, Uint32Array);
    this.b = bytes.subarray(h.u8At, h.u8At + h.u8);
    this.pool = Buffer.from(bytes.buffer, bytes.byteOffset + h.poolAt, h.poolBytes).toString(
      h.poolEncoding === PoolEncoding.Utf8 ? 'utf8' : 'utf16le',
    );
    if (this.pool.length !== h.poolUnits) throw new Error('a packed entry whose strings do not decode');
    this.deploymentId = this.pool.slice(0, h.idUnits);
    this.pi = h.idUnits;
  }
  num(): number {
    if (this.fi >= this.f.length) throw overrun();
    return this.f[this.fi++] as number;
  }
  word(): number {
    if (this.ui >= this.u.length) throw overrun();
    return this.u[this.ui++] as number;
  }
  byte(): number {
    if (this.bi >= this.b.length) throw overrun();
    return this.b[this.bi++] as number;
  }
  str(): string {
    const n = this.word();
    if (this.pi + n > this.pool.length) throw overrun();
    const s = this.pool.slice(this.pi, this.pi + n);
    this.pi += n;
    return s;
  }
}

const overrun = () => new Error('a packed entry ends before its contents do');

/** A typed view of a section: in place when aligned (and little-endian), else a copy. */
function section<T extends Float64Array | Uint32Array>(
  bytes: Uint8Array,
  at: number,
  count: number,
  width: number,
  Kind: { new (n: number): T; new (b: ArrayBuffer, at: number, n: number): T },
): T {
  const start = bytes.byteOffset + at;
  if (LITTLE_ENDIAN && start % width === 0 && bytes.buffer instanceof ArrayBuffer)
    return new Kind(bytes.buffer, start, count);
  const copy = new Kind(count);
  const raw = new Uint8Array(copy.buffer);
  raw.set(bytes.subarray(at, at + count * width));
  if (!LITTLE_ENDIAN) swapWords(raw, width);
  return copy;
}

/** A JSON number as JSON.stringify writes it (-0 as 0; NaN and the infinities as null). */
const numberText = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

/** A list of names as decoding uses it, cached per list (its JSON text). */
interface NameList {
  names: string[];
  /** Each name's column. */
  index: Map<string, number>;
  /** The JSON text of each name followed by a colon (`"x0":`). */
  prefixes: string[];
  /**
   * Makes a record with these keys, in this order, from its values: JSON.stringify of objects of one
   * shape takes V8's fast path, and prints numbers faster than String() and concatenation do (measured
   * 2026-12-05, 30 doubles a record: ~10 us against ~20 us; concatenation builds rope strings that
   * are flattened again later).
   */
  record: RecordMaker;
}
const namesSeen = new Map<string, NameList>();
function namesOf(namesJson: string): NameList {
  let l = namesSeen.get(namesJson);
  if (!l) {
    const names = JSON.parse(namesJson) as unknown;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))
      throw new Error('a packed entry whose names are not a list of strings');
    l = {
      names: names as string[],
      index: new Map((names as string[]).map((n, j) => [n, j])),
      prefixes: (names as string[]).map((n) => `${JSON.stringify(n)}:`),
      record: recordMaker(names as string[]),
    };
    if (namesSeen.size >= 256) namesSeen.clear();
    namesSeen.set(namesJson, l);
  }
  return l;
}

/** A column of an entry: tagged values decoded into `values`, or float64 ones in the entry's numbers from `at`. */
export interface EntryColumn {
  values: unknown[] | undefined;
  at: number;
}

/** The inputs of an entry's columnar records, per feature. */
export interface EntryInputs {
  /** The features, in the records' key order. */
  names: readonly string[];
  /** Makes a record of these features from its values (NameList.record). */
  record: RecordMaker;
  /** Each feature's column. */
  index: ReadonlyMap<string, number>;
  columns: EntryColumn[];
  /** The entry's float64 numbers (a float64 column's values are f[at + q] for its q-th columnar record). */
  f: Float64Array;
  /** How many records are columnar (the length of each column). */
  records: number;
  /** Each row's index among the columnar records; -1 for a record that travelled as its own JSON text. */
  slot: Int32Array;
}

/** A column of `count` values: tagged ones decoded into `values`, float64 ones left in `r.f` from `at`. */
function readColumn(r: Reader, count: number): EntryColumn {
  const kind = r.byte();
  if (kind === ColumnKind.Float64) {
    const at = r.fi;
    if (at + count > r.f.length) throw overrun();
    r.fi += count;
    return { values: undefined, at };
  }
  if (kind !== ColumnKind.Tagged) throw new Error(`a packed entry with a column of unknown kind ${kind}`);
  const values = new Array<unknown>(count);
  for (let i = 0; i < count; i++) values[i] = readValue(r);
  return { values, at: 0 };
}

function readValue(r: Reader): unknown {
  const tag = r.byte();
  switch (tag) {
    case ValueTag.Null:
      return null;
    case ValueTag.False:
      return false;
    case ValueTag.True:
      return true;
    case ValueTag.Number:
      return r.num();
    case ValueTag.String:
      return r.str();
    default:
      throw new Error(`a packed entry with a value of unknown tag ${tag}`);
  }
}

/** A value's JSON text (a tagged prediction). */
const valueText = (v: unknown): string => (typeof v === 'number' ? numberText(v) : JSON.stringify(v));

/**
 * The JSON text of an entry's q-th columnar record, as JSON.stringify of the record gave it: printed
 * from an object of its keys in their order, made and dropped at once.
 */
export function columnarText(e: EntryInputs, q: number): string {
  const m = e.names.length;
  const values = new Array<unknown>(m);
  for (let j = 0; j < m; j++) {
    const c = e.columns[j] as EntryColumn;
    values[j] = c.values ? c.values[q] : e.f[c.at + q];
  }
  return JSON.stringify(e.record(values, 0));
}

/**
 * Makes the JSON text of records with these keys, in this order, from their values: the text a
 * columnar record of these features is logged as (one maker per list of keys, cached like an entry's).
 */
export function recordTextMaker(names: readonly string[]): (values: readonly unknown[]) => string {
  const { record } = namesOf(JSON.stringify(names));
  return (values) => JSON.stringify(record(values, 0));
}

/**
 * Each record's JSON text (a columnar record's only with `text`), and the columnar records' columns.
 */
function readInputs(
  r: Reader,
  rows: number,
  text: boolean,
): { out: (string | undefined)[]; columns: EntryInputs | undefined } {
  const { names, index, record } = namesOf(r.str());
  const m = names.length;
  const out = new Array<string | undefined>(rows);
  const slot = new Int32Array(rows);
  let fit = 0;
  for (let i = 0; i < rows; i++) {
    const tag = r.byte();
    if (tag === RecordTag.Columnar) slot[i] = fit++;
    else if (tag === RecordTag.Json) {
      out[i] = r.str();
      slot[i] = -1;
    } else throw new Error(`a packed entry with a record of unknown tag ${tag}`);
  }
  const columns = new Array<EntryColumn>(m);
  for (let j = 0; j < m; j++) columns[j] = readColumn(r, fit);
  if (fit === 0) return { out, columns: undefined };
  const e: EntryInputs = { names, record, index, columns, f: r.f, records: fit, slot };
  if (text)
    for (let i = 0; i < rows; i++) {
      const q = slot[i] as number;
      if (q >= 0) out[i] = columnarText(e, q);
    }
  return { out, columns: e };
}

function readOutputs(r: Reader, rows: number): (string | null)[] {
  const shape = r.byte();
  if (shape !== OutputShape.None && shape !== OutputShape.Prediction && shape !== OutputShape.Probabilities)
    throw new Error(`a packed entry with outputs of unknown shape ${shape}`);
  const classes = shape === OutputShape.Probabilities ? namesOf(r.str()).prefixes : [];
  const out = new Array<string | null>(rows);
  const columnar: number[] = [];
  for (let i = 0; i < rows; i++) {
    const tag = r.byte();
    if (tag === OutputTag.Absent) out[i] = null;
    else if (tag === OutputTag.JsonNull) out[i] = 'null';
    else if (tag === OutputTag.Json) out[i] = r.str();
    else if (tag === OutputTag.Columnar && shape !== OutputShape.None) columnar.push(i);
    else throw new Error(`a packed entry with outputs of unknown tag ${tag}`);
  }
  const fit = columnar.length;
  if (fit === 0) return out;
  const predictions = readColumn(r, fit);
  const k = classes.length;
  const at = r.fi;
  if (at + fit * k > r.f.length) throw overrun();
  r.fi += fit * k;
  const f = r.f;
  for (let q = 0; q < fit; q++) {
    let s = '{"prediction":';
    s += predictions.values ? valueText(predictions.values[q]) : numberText(f[predictions.at + q] as number);
    if (shape === OutputShape.Probabilities) {
      s += ',"probabilities":{';
      for (let c = 0; c < k; c++) {
        if (c > 0) s += ',';
        s += classes[c] as string;
        s += numberText(f[at + q * k + c] as number);
      }
      s += '}';
    }
    out[columnar[q] as number] = `${s}}`;
  }
  return out;
}

/** The shared columns, in DecodedEntry.shared's order. */
function sharedOf(r: Reader): Cell[] {
  const fixed = JSON.parse(r.str()) as Cell[];
  if (!Array.isArray(fixed) || fixed.length !== 7)
    throw new Error('a packed entry whose shared columns are not 7 cells');
  const [modelVersionId, model, version, alias, role, shadowVersionId, shadowError] = fixed;
  const servedAt = r.num();
  const latencyUs = r.num();
  const requestKey = nullable(r);
  const error = nullable(r);
  return [
    modelVersionId ?? null,
    model ?? null,
    version ?? null,
    alias ?? null,
    role ?? null,
    servedAt,
    requestKey,
    latencyUs,
    shadowVersionId ?? null,
    shadowError ?? null,
    error,
  ];
}

function nullable(r: Reader): string | null {
  const flag = r.byte();
  if (flag === 0) return null;
  if (flag === 1) return r.str();
  throw new Error(`a packed entry with a string flag of unknown value ${flag}`);
}

/** How to decode an entry. */
export interface DecodeOptions {
  /**
   * Whether to build the JSON text of the columnar records' inputs (default true). The sealer asks
   * for none: it writes most such rows' inputs as their typed columns alone, and builds the others'
   * text from `inputColumns` (columnarText).
   */
  columnarText?: boolean;
}

/** Decodes an entry's bytes; a malformed entry is a clear error, never a wrong row. */
export function decodeEntry(bytes: Uint8Array, options: DecodeOptions = {}): DecodedEntry {
  const h = readHeader(bytes);
  const r = new Reader(bytes, h);
  const shared = sharedOf(r);
  const ids = new Array<string>(h.rows);
  for (let i = 0; i < h.rows; i++) ids[i] = r.str();
  const inputs = readInputs(r, h.rows, options.columnarText ?? true);
  const outputs = readOutputs(r, h.rows) as string[];
  const shadowOutputs = readOutputs(r, h.rows);
  if (r.fi !== r.f.length || r.ui !== r.u.length || r.bi !== r.b.length || r.pi !== r.pool.length)
    throw new Error('a packed entry with contents left over');
  return {
    rows: h.rows,
    deploymentId: r.deploymentId,
    shared,
    ids,
    inputs: inputs.out,
    inputColumns: inputs.columns,
    outputs,
    shadowOutputs,
  };
}
