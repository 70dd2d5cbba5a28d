/*
 * The binary packed entry: the rows of one request as they travel from the event loop to the writer
 * (the SQLite writer thread, the segment file, PostgreSQL's insert). Packing must cost next to nothing
 * on the event loop, so no JSON text is built per record there: the inputs travel columnar (feature
 * names once, all-number columns as raw float64), outputs likewise where regular, and the JSON text of
 * each row is built where the rows are written (the writer thread, the sealer), by entry-decode.ts.
 *
 * An entry is four streams written and read in the same program order by entry-encode.ts and
 * entry-decode.ts (each stream has its own cursor, so their interleaving needs no offsets):
 *     [header, HEADER_BYTES][f64 x nF][u32 x nU][u8 x nB][string pool]
 * Header (u32 LE each): version | pool encoding << 8 | deployment id bytes << 16, rows, nF, nU, nB,
 * pool bytes, pool length (UTF-16 code units), deployment id length (code units). The f64 section
 * starts at byte 32, so an entry that starts 8-aligned in its buffer is read in place; otherwise it is
 * copied once.
 *
 * The string pool is the deployment id, then every string of the entry (shared-columns JSON, ids,
 * string values, feature and class names, the JSON of irregular records) concatenated; each is cut back
 * out by its length (in UTF-16 code units) from the u32 stream. It is stored as UTF-8 when well formed,
 * else UTF-16LE (a lone surrogate, which UTF-8 cannot carry, survives exactly as JSON.stringify
 * escapes it).
 *
 * Numbers and bytes are little-endian; a big-endian host swaps the sections as it packs and reads.
 */

/** The rows of one request, packed (see the layout above). */
export interface PackedEntry {
  readonly rows: number;
  /** Given apart from the bytes so the segment writer groups entries without decoding them. */
  readonly deploymentId: string;
  readonly bytes: Uint8Array;
}

export const ENTRY_VERSION = 1;
export const HEADER_BYTES = 32;

export const PoolEncoding = { Utf8: 0, Utf16: 1 } as const;

/** How a record's inputs travel: in the columns, or as its own JSON text (keys differ from the first's). */
export const RecordTag = { Columnar: 1, Json: 2 } as const;

/** An input column: raw float64 (every value a number), or a tag per value. */
export const ColumnKind = { Float64: 0, Tagged: 1 } as const;

/** A value of a tagged column. */
export const ValueTag = { Null: 0, False: 1, True: 2, Number: 3, String: 4 } as const;

/** A record's outputs: no cell (null), columnar, its own JSON text, or the JSON text `null`. */
export const OutputTag = { Absent: 0, Columnar: 1, Json: 2, JsonNull: 3 } as const;

/** What a columnar output holds: nothing is columnar, `prediction`, or `prediction` + `probabilities`. */
export const OutputShape = { None: 0, Prediction: 1, Probabilities: 2 } as const;

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the byte order of each `width`-byte word (big-endian hosts only). */
export function swapWords(b: Uint8Array, width: number): void {
  for (let at = 0; at + width <= b.length; at += width) b.subarray(at, at + width).reverse();
}

export interface EntryHeader {
  version: number;
  poolEncoding: number;
  rows: number;
  f64: number;
  u32: number;
  u8: number;
  poolBytes: number;
  poolUnits: number;
  /** The deployment id at the start of the pool: its bytes, its length in code units. */
  idBytes: number;
  idUnits: number;
  /** Byte offsets of the sections within the entry. */
  f64At: number;
  u32At: number;
  u8At: number;
  poolAt: number;
}

/** Reads and checks an entry's header: its sections must fill the bytes exactly. */
export function readHeader(bytes: Uint8Array): EntryHeader {
  if (bytes.length < HEADER_BYTES) throw new Error(`a packed entry of ${bytes.length} bytes has no header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const word0 = v.getUint32(0, true);
  const version = word0 & 0xff;
  if (version !== ENTRY_VERSION) throw new Error(`a packed entry of unknown version ${version}`);
  const f64 = v.getUint32(8, true);
  const u32 = v.getUint32(12, true);
  const u8 = v.getUint32(16, true);
  const poolBytes = v.getUint32(20, true);
  const poolUnits = v.getUint32(24, true);
  const idBytes = word0 >>> 16;
  const idUnits = v.getUint32(28, true);
  const f64At = HEADER_BYTES;
  const u32At = f64At + f64 * 8;
  const u8At = u32At + u32 * 4;
  const poolAt = u8At + u8;
  if (poolAt + poolBytes !== bytes.length)
    throw new Error(
      `a packed entry's sections (${poolAt + poolBytes} bytes) do not fill its ${bytes.length}`,
    );
  if (idBytes > poolBytes || idUnits > poolUnits)
    throw new Error('a packed entry whose deployment id does not fit its strings');
  // One literal (not a spread): this runs once per entry on every read.
  return {
    version,
    poolEncoding: (word0 >>> 8) & 0xff,
    rows: v.getUint32(4, true),
    f64,
    u32,
    u8,
    poolBytes,
    poolUnits,
    idBytes,
    idUnits,
    f64At,
    u32At,
    u8At,
    poolAt,
  };
}

/** The deployment an entry's rows belong to (read without decoding the rest of the pool). */
export function entryDeploymentOf(bytes: Uint8Array, h: EntryHeader): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + h.poolAt, h.idBytes).toString(
    h.poolEncoding === PoolEncoding.Utf8 ? 'utf8' : 'utf16le',
  );
}
