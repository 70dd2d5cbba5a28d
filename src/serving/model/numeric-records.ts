import { MAX_TENSOR_WIDTH } from './model-plan.js';

/*
 * The common scoring bodies read straight from their bytes: rows whose values are all numbers, as
 * records (`{"dataframe_records": [{"x0": 1.5, ...}, ...]}` or a bare `[{...}, ...]`) or in pandas'
 * split orient (`{"dataframe_split": {"columns": ["x0", ...], "data": [[1.5, ...], ...]}}`, what
 * MLflow's clients send for a DataFrame). JSON.parse spends about 110 µs on 32 records of 30 numbers
 * (an object per record, a string per key, a number per value), as much as the rest of a prediction
 * of a small model; this reader takes a third of that and keeps the numbers in one array, so the
 * record checker can fill the model's tensor with a copy.
 *
 * It is a subset of JSON and nothing else: it gives up (null) at the first byte outside the forms
 * below, and the caller then parses the body with JSON.parse as before, so what is accepted or
 * refused, and with which error, never changes. The forms:
 *   - optional JSON whitespace anywhere a token may be preceded by it;
 *   - records: the envelope `{"dataframe_records": [...]}` (that key alone) or a bare list; at least
 *     one record; every record an object with at least one key (at most MAX_KEYS), the same keys in
 *     the same order as the first record, no key twice;
 *   - split: the envelope `{"dataframe_split": {...}}` (that key alone) holding "columns" (one or more
 *     keys, none twice) and "data" (one or more lists of numbers, each as long as the columns) in
 *     either order, and maybe "index" (a list of JSON integers, which scoring ignores), each once;
 *   - keys in printable ASCII without escapes (`"` or `\`), and neither `__proto__` nor `constructor`;
 *   - every value a JSON number whose value is finite (1e999 gives up, so the checker names it).
 * A number without an exponent whose digits form an integer below 2^53 (15-16 significant digits)
 * and that has at most 22 decimals is read exactly: that integer divided by a power of ten up to
 * 10^22, both exact in a double, so the one rounding of the division is the correctly rounded value
 * JSON.parse gives (Clinger's fast path). Any other number is read by Number() over its text, which
 * rounds as JSON.parse does.
 * A body that gives up part way, or whose rows the model cannot take as they are (the record
 * checker then parses it), pays this read on top of JSON.parse: about a third more.
 */

/*
 * The bytes the reader looks for. An enum, whose members esbuild writes as literals: the build's
 * bundler turns module-level constants into `var`s, which V8 cannot fold into its compares, and the
 * built reader ran 2x slower with them (72 against 34 µs for 32 records of 30 numbers).
 */
enum Byte {
  Space = 0x20,
  Tab = 0x09,
  Lf = 0x0a,
  Cr = 0x0d,
  Quote = 0x22,
  Plus = 0x2b,
  Comma = 0x2c,
  Minus = 0x2d,
  Dot = 0x2e,
  Zero = 0x30,
  One = 0x31,
  Nine = 0x39,
  Colon = 0x3a,
  UpperE = 0x45,
  LowerE = 0x65,
  LeftBracket = 0x5b,
  Backslash = 0x5c,
  RightBracket = 0x5d,
  LeftBrace = 0x7b,
  RightBrace = 0x7d,
}

const RECORDS_KEY = Buffer.from('"dataframe_records"', 'latin1');
const SPLIT_KEY = Buffer.from('"dataframe_split"', 'latin1');
const COLUMNS_KEY = Buffer.from('"columns"', 'latin1');
const DATA_KEY = Buffer.from('"data"', 'latin1');
const INDEX_KEY = Buffer.from('"index"', 'latin1');
/** Rows wider than a model may have features (keys, columns or values) are left to JSON.parse (bounds the key spans kept below). */
const MAX_KEYS = MAX_TENSOR_WIDTH;
/** A list of names is kept for the next body only up to this many bytes of keys (what one body can pin). */
const MAX_KNOWN_KEY_BYTES = 256 * 1024;
/** 10^0 .. 10^22: every one exact in a double. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** Rows that hold only numbers: `rows` rows of `names.length` values, row-major in `values`. */
export class NumericRecords {
  private json: unknown;
  private decoded = false;

  constructor(
    /** The records' keys, or the split form's columns, in the order they were sent. */
    readonly names: readonly string[],
    /** Row i's value of names[j] at i * names.length + j. */
    readonly values: readonly number[],
    readonly rows: number,
    /** Where the rows sit in the body, as the record checker names it. */
    readonly path: 'dataframe_records' | 'records' | 'dataframe_split.data',
    private readonly bytes: Buffer,
  ) {}

  /** The body as JSON.parse reads it, for any reader that wants objects (parsed once). */
  parsed(): unknown {
    if (!this.decoded) {
      this.json = JSON.parse(this.bytes.toString('utf8'));
      this.decoded = true;
    }
    return this.json;
  }
}

/** Whether `text` is in b at i (a loop: these keys are short, and Buffer.compare is a native call). */
function startsWith(b: Buffer, i: number, text: Buffer): boolean {
  if (b.length - i < text.length) return false;
  for (let k = 0; k < text.length; k++) if (b[i + k] !== text[k]) return false;
  return true;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= Byte.Zero && c <= Byte.Nine;
}

/**
 * JSON whitespace. Written at each place as `while (isSpace(b[i])) i++;`: a skipping function called
 * there was not inlined by V8 (the reader is large) and made the whole read 2x slower.
 */
function isSpace(c: number | undefined): boolean {
  return c === Byte.Space || c === Byte.Lf || c === Byte.Cr || c === Byte.Tab;
}

/** The end of a number's exponent part, whose letter is at i (-1 when it has no digits). */
function exponentEnd(b: Buffer, i: number): number {
  let c = b[++i];
  if (c === Byte.Plus || c === Byte.Minus) c = b[++i];
  if (!isDigit(c)) return -1;
  do c = b[++i];
  while (isDigit(c));
  return i;
}

/** The end of the plain key whose text starts at i (just past its opening quote), or -1. */
function keyEnd(b: Buffer, i: number): number {
  for (;;) {
    const c = b[i];
    if (c === Byte.Quote) return i;
    if (c === undefined || c < Byte.Space || c === Byte.Backslash || c > 0x7e) return -1;
    i++;
  }
}

/**
 * The keys of the last list read, kept so that the next body with the same keys (the usual case: a
 * client sends one model's features again and again) reuses its names, not a new string per key.
 */
const known = { names: [] as string[], bytes: Buffer.alloc(0), starts: new Int32Array(1) };

function remember(names: string[]): void {
  const bytes = Buffer.from(names.join(''), 'latin1');
  if (bytes.length > MAX_KNOWN_KEY_BYTES) return;
  const starts = new Int32Array(names.length + 1);
  for (let j = 0; j < names.length; j++) starts[j + 1] = (starts[j] as number) + (names[j] as string).length;
  known.names = names;
  known.bytes = bytes;
  known.starts = starts;
}

/** Whether the key at `start` in b (before a closing quote) is the known list's j-th. */
function isKnownKey(b: Buffer, start: number, j: number): boolean {
  if (j >= known.names.length) return false;
  const from = known.starts[j] as number;
  const length = (known.starts[j + 1] as number) - from;
  const bytes = known.bytes;
  for (let k = 0; k < length; k++) if (b[start + k] !== bytes[from + k]) return false;
  return b[start + length] === Byte.Quote;
}

/**
 * The keys of a body's first record, or its split columns, in order and each once: the known list's
 * names while they are the same, else strings of their own. One per body.
 */
class KeyReader {
  /** The keys read so far, once one of them was not the known list's (null while all were). */
  private names: string[] | null = null;
  private seen: Set<string> | null = null;
  /** How many keys were read. */
  count = 0;

  /** Reads key j, whose text starts at `start` (past its quote): where its closing quote ends, or -1 to give up. */
  read(b: Buffer, start: number, j: number): number {
    if (j === MAX_KEYS) return -1;
    this.count = j + 1;
    if (this.names === null) {
      if (isKnownKey(b, start, j))
        return start + (known.starts[j + 1] as number) - (known.starts[j] as number) + 1;
      this.names = known.names.slice(0, j);
      this.seen = new Set(this.names);
    }
    const end = keyEnd(b, start);
    if (end < 0) return -1;
    const name = b.toString('latin1', start, end);
    const seen = this.seen as Set<string>;
    // Left to the scoring routes' poisoning checks and Fastify's parser, whatever the caller.
    if (name === '__proto__' || name === 'constructor' || seen.has(name)) return -1;
    seen.add(name);
    this.names.push(name);
    return end + 1;
  }

  /** The keys read, kept as the known list for the next body (call once the body is read whole). */
  finish(): string[] {
    const count = this.count;
    const names = this.names ?? (count === known.names.length ? known.names : known.names.slice(0, count));
    if (names !== known.names) remember(names);
    return names;
  }
}

/** Key spans of the first record (start, length), compared byte by byte with each later record's. */
let keyStarts = new Int32Array(64);
let keyLengths = new Int32Array(64);

/** A table of numbers read from a body: `rows` rows of `width` values, row-major. */
interface ReadRows {
  /** Just past the list's closing bracket. */
  end: number;
  /** The first record's keys (records form; read, not yet finished), or null (split rows). */
  keys: KeyReader | null;
  values: number[];
  width: number;
  rows: number;
}

/**
 * Reads a scoring body of rows holding only numbers (the forms above), or returns null for any other
 * body: the caller then parses it as JSON.
 */
export function readNumericRecords(b: Buffer): NumericRecords | null {
  let i = 0;
  while (isSpace(b[i])) i++;
  let path: NumericRecords['path'] = 'records';
  if (b[i] === Byte.LeftBrace) {
    i++;
    while (isSpace(b[i])) i++;
    if (!startsWith(b, i, RECORDS_KEY))
      return startsWith(b, i, SPLIT_KEY) ? readSplit(b, i + SPLIT_KEY.length) : null;
    i += RECORDS_KEY.length;
    while (isSpace(b[i])) i++;
    if (b[i] !== Byte.Colon) return null;
    i++;
    while (isSpace(b[i])) i++;
    path = 'dataframe_records';
  }
  const read = readRows(b, i, false);
  if (read === null) return null;
  i = read.end;
  while (isSpace(b[i])) i++;
  if (path === 'dataframe_records') {
    if (b[i] !== Byte.RightBrace) return null;
    i++;
    while (isSpace(b[i])) i++;
  }
  if (i !== b.length) return null;
  const names = (read.keys as KeyReader).finish();
  return new NumericRecords(names, read.values, read.rows, path, b);
}

/**
 * The rest of `{"dataframe_split": {...}}` from just past its key: an object of "columns" (plain
 * keys, as record keys above) and "data" (rows of numbers, each as long as the columns), in either
 * order, and maybe "index" (a list of integers, which scoring ignores), each once.
 */
function readSplit(b: Buffer, i: number): NumericRecords | null {
  while (isSpace(b[i])) i++;
  if (b[i] !== Byte.Colon) return null;
  i++;
  while (isSpace(b[i])) i++;
  if (b[i] !== Byte.LeftBrace) return null;
  i++;
  let columns: KeyReader | null = null;
  let data: ReadRows | null = null;
  let index = false;
  for (;;) {
    while (isSpace(b[i])) i++;
    if (startsWith(b, i, COLUMNS_KEY) && columns === null) {
      i = valueStart(b, i + COLUMNS_KEY.length);
      const keys = new KeyReader();
      i = i < 0 ? -1 : columnsEnd(b, i, keys);
      if (i < 0) return null;
      columns = keys;
    } else if (startsWith(b, i, DATA_KEY) && data === null) {
      i = valueStart(b, i + DATA_KEY.length);
      data = i < 0 ? null : readRows(b, i, true);
      if (data === null) return null;
      i = data.end;
    } else if (startsWith(b, i, INDEX_KEY) && !index) {
      i = valueStart(b, i + INDEX_KEY.length);
      i = i < 0 ? -1 : indexEnd(b, i);
      if (i < 0) return null;
      index = true;
    } else return null;
    while (isSpace(b[i])) i++;
    if (b[i] === Byte.Comma) {
      i++;
      continue;
    }
    if (b[i] !== Byte.RightBrace) return null;
    break;
  }
  i++;
  while (isSpace(b[i])) i++;
  if (b[i] !== Byte.RightBrace) return null;
  i++;
  while (isSpace(b[i])) i++;
  if (i !== b.length || columns === null || data === null || data.width !== columns.count) return null;
  return new NumericRecords(columns.finish(), data.values, data.rows, 'dataframe_split.data', b);
}

/** Where the value after a key's colon starts (the key's text ends at i), or -1. */
function valueStart(b: Buffer, i: number): number {
  while (isSpace(b[i])) i++;
  if (b[i] !== Byte.Colon) return -1;
  i++;
  while (isSpace(b[i])) i++;
  return i;
}

/** The end of a list of one or more plain keys that starts at i (read into `keys`), or -1. */
function columnsEnd(b: Buffer, i: number, keys: KeyReader): number {
  if (b[i] !== Byte.LeftBracket) return -1;
  i++;
  for (let j = 0; ; j++) {
    while (isSpace(b[i])) i++;
    if (b[i] !== Byte.Quote) return -1;
    i = keys.read(b, i + 1, j);
    if (i < 0) return -1;
    while (isSpace(b[i])) i++;
    if (b[i] === Byte.Comma) {
      i++;
      continue;
    }
    return b[i] === Byte.RightBracket ? i + 1 : -1;
  }
}

/** The end of a list of JSON integers (maybe empty) that starts at i, or -1. */
function indexEnd(b: Buffer, i: number): number {
  if (b[i] !== Byte.LeftBracket) return -1;
  i++;
  while (isSpace(b[i])) i++;
  if (b[i] === Byte.RightBracket) return i + 1;
  for (;;) {
    if (b[i] === Byte.Minus) i++;
    const c = b[i];
    if (c === Byte.Zero) i++;
    else if (c !== undefined && c >= Byte.One && c <= Byte.Nine) {
      do i++;
      while (isDigit(b[i]));
    } else return -1;
    while (isSpace(b[i])) i++;
    if (b[i] === Byte.Comma) {
      i++;
      while (isSpace(b[i])) i++;
      continue;
    }
    return b[i] === Byte.RightBracket ? i + 1 : -1;
  }
}

/**
 * A list of one or more rows from its opening bracket at i: records (objects of the same keys in the
 * same order, `split` false) or lists of numbers of one length (`split` true).
 */
function readRows(b: Buffer, i: number, split: boolean): ReadRows | null {
  if (b[i] !== Byte.LeftBracket) return null;
  i++;
  while (isSpace(b[i])) i++;
  const open = split ? Byte.LeftBracket : Byte.LeftBrace;
  const close = split ? Byte.RightBracket : Byte.RightBrace;
  const keys = split ? null : new KeyReader();
  const values: number[] = [];
  let width = 0;
  let rows = 0;
  for (;;) {
    if (b[i] !== open) return null;
    i++;
    while (isSpace(b[i])) i++;
    for (let j = 0; ; j++) {
      if (split) {
        if (rows === 0 && j === MAX_KEYS) return null;
      } else {
        if (b[i] !== Byte.Quote) return null;
        const start = i + 1;
        if (rows === 0) {
          i = (keys as KeyReader).read(b, start, j);
          if (i < 0) return null;
          if (j === keyStarts.length) {
            keyStarts = grow(keyStarts);
            keyLengths = grow(keyLengths);
          }
          keyStarts[j] = start;
          keyLengths[j] = i - 1 - start;
        } else {
          if (j >= width) return null;
          const at = keyStarts[j] as number;
          const length = keyLengths[j] as number;
          for (let k = 0; k < length; k++) if (b[start + k] !== b[at + k]) return null;
          i = start + length;
          if (b[i] !== Byte.Quote) return null;
          i++;
        }
        while (isSpace(b[i])) i++;
        if (b[i] !== Byte.Colon) return null;
        i++;
        while (isSpace(b[i])) i++;
      }
      // The number, read here (a call was not inlined, as above).
      const first = i;
      let c = b[i];
      const negative = c === Byte.Minus;
      if (negative) c = b[++i];
      let digits = 0;
      let scale = 0;
      if (c === Byte.Zero) c = b[++i];
      else if (c !== undefined && c >= Byte.One && c <= Byte.Nine) {
        do {
          digits = digits * 10 + (c - Byte.Zero);
          c = b[++i];
        } while (c !== undefined && c >= Byte.Zero && c <= Byte.Nine);
      } else return null;
      if (c === Byte.Dot) {
        c = b[++i];
        if (c === undefined || c < Byte.Zero || c > Byte.Nine) return null;
        do {
          digits = digits * 10 + (c - Byte.Zero);
          scale++;
          c = b[++i];
        } while (c !== undefined && c >= Byte.Zero && c <= Byte.Nine);
      }
      let v: number;
      if (c === Byte.LowerE || c === Byte.UpperE) {
        i = exponentEnd(b, i);
        if (i < 0) return null;
        v = Number(b.toString('latin1', first, i));
        if (!Number.isFinite(v)) return null;
      } else if (digits <= Number.MAX_SAFE_INTEGER && scale < POWERS_OF_TEN.length) {
        v = scale === 0 ? digits : digits / (POWERS_OF_TEN[scale] as number);
        if (negative) v = -v;
      } else {
        v = Number(b.toString('latin1', first, i));
        if (!Number.isFinite(v)) return null;
      }
      values.push(v);
      while (isSpace(b[i])) i++;
      c = b[i];
      if (c === Byte.Comma) {
        i++;
        while (isSpace(b[i])) i++;
        continue;
      }
      if (c !== close) return null;
      if (rows === 0) width = j + 1;
      else if (j + 1 !== width) return null;
      break;
    }
    rows++;
    i++;
    while (isSpace(b[i])) i++;
    const c = b[i];
    if (c === Byte.Comma) {
      i++;
      while (isSpace(b[i])) i++;
      continue;
    }
    if (c !== Byte.RightBracket) return null;
    break;
  }
  return { end: i + 1, keys, values, width, rows };
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}
