import { type DecodedEntry, decodeEntry, type EntryInputs } from './entry-decode.js';
import { encodeEntry } from './entry-encode.js';
import type { PackedEntry } from './entry-layout.js';
import type { Cell, PredictionBatch, PredictionRecord } from './prediction-batch.js';
import { PREDICTION_WIDTH } from './prediction-batch.js';

/*
 * Packing the predictions of a request for the writer, and unpacking them into rows. A request's
 * rows travel as one binary entry (entry-layout.ts); the JSON text of their inputs and outputs is
 * built where the rows are written, not on the serving event loop.
 */

export type { PackedEntry } from './entry-layout.js';
export {
  type Cell,
  PREDICTION_COLUMNS,
  PREDICTION_WIDTH,
  type PredictionBatch,
  type PredictionRecord,
} from './prediction-batch.js';

/*
 * An entry of a segment file written before entries were binary (SXPLOG01): a flat array of cells,
 * the shared columns once and four cells per row:
 *   [rows, deployment_id, model_version_id, model, version, alias, role, served_at, request_key,
 *    latency_us, shadow_version_id, shadow_error, error,  then per row: id, inputs, outputs, shadow_outputs]
 * Read only (an open segment left by the previous version is still recovered and sealed).
 */
export type LegacyEntry = Cell[];
const LEGACY_HEADER = 13;
const LEGACY_PER_ROW = 4;

/** An entry as a segment file holds it: binary, or legacy in a segment of the previous version. */
export type StoredEntry = PackedEntry | LegacyEntry;

/** Packs records [from, to) of a request's batch. */
export function packBatch(b: PredictionBatch, from = 0, to = b.ids.length): PackedEntry {
  return encodeEntry(b, from, to);
}

/** Packs one record as an entry of one row. */
export function packRecord(r: PredictionRecord): PackedEntry {
  return packBatch({
    ids: [r.id],
    deploymentId: r.deploymentId,
    modelVersionId: r.modelVersionId,
    model: r.model,
    version: r.version,
    alias: r.alias,
    role: r.role,
    servedAt: r.servedAt,
    requestKey: r.requestKey,
    inputs: [r.inputs],
    outputs: [r.outputs],
    latencyUs: r.latencyUs,
    shadow: r.shadow
      ? { modelVersionId: r.shadow.modelVersionId, outputs: [r.shadow.outputs], error: r.shadow.error }
      : null,
  });
}

/** Rows in an entry. */
export const entryRows = (e: StoredEntry): number => (Array.isArray(e) ? (e[0] as number) : e.rows);

/** The deployment of an entry's rows. */
export const entryDeployment = (e: StoredEntry): string =>
  Array.isArray(e) ? (e[1] as string) : e.deploymentId;

/** Writes row r of a decoded entry at cells[at...]. */
function writeDecoded(d: DecodedEntry, r: number, cells: Cell[], at: number): void {
  const s = d.shared;
  cells[at] = d.ids[r] as string;
  cells[at + 1] = d.deploymentId;
  cells[at + 2] = s[0] as string;
  cells[at + 3] = s[1] as string;
  cells[at + 4] = s[2] as number;
  cells[at + 5] = s[3] ?? null;
  cells[at + 6] = s[4] as string;
  cells[at + 7] = s[5] as number;
  cells[at + 8] = s[6] ?? null;
  // Undefined for a columnar record decoded without its text (unpackRows with `sources`).
  cells[at + 9] = d.inputs[r] as string;
  cells[at + 10] = d.outputs[r] as string;
  cells[at + 11] = s[7] as number;
  cells[at + 12] = s[8] ?? null;
  cells[at + 13] = d.shadowOutputs[r] ?? null;
  cells[at + 14] = s[9] ?? null;
  cells[at + 15] = s[10] ?? null;
}

/** Writes row r of a legacy entry at cells[at...]. */
function writeLegacy(e: LegacyEntry, r: number, cells: Cell[], at: number): void {
  const k = LEGACY_HEADER + r * LEGACY_PER_ROW;
  cells[at] = e[k] as string;
  cells[at + 1] = e[1] as string;
  cells[at + 2] = e[2] as string;
  cells[at + 3] = e[3] as string;
  cells[at + 4] = e[4] as number;
  cells[at + 5] = e[5] ?? null;
  cells[at + 6] = e[6] as string;
  cells[at + 7] = e[7] as number;
  cells[at + 8] = e[8] ?? null;
  cells[at + 9] = e[k + 1] as string;
  cells[at + 10] = e[k + 2] as string;
  cells[at + 11] = e[9] as number;
  cells[at + 12] = e[10] ?? null;
  cells[at + 13] = e[k + 3] ?? null;
  cells[at + 14] = e[11] ?? null;
  cells[at + 15] = e[12] ?? null;
}

/**
 * Where each row's inputs are held as columns (entry-decode.ts `inputColumns`): row i is record
 * slot[i] of entries[i], or not held so (undefined, or slot -1: a legacy row, a record that travelled
 * as JSON text).
 */
export interface InputSources {
  entries: (EntryInputs | undefined)[];
  slots: number[];
}

/**
 * Writes the rows of the entries, in order, into `cells` (PREDICTION_WIDTH cells per row, in
 * PREDICTION_COLUMNS order) in blocks of `every` rows: each full block, and the last partial one, is
 * handed to `block(rows)` and then overwritten by the next, so a caller binds fixed-size parameter
 * arrays in place. With `sources`, each row's inputs columns are recorded on it, and a columnar
 * record's inputs cell is left undefined: its text is not built (the sealer builds it from the columns
 * only where it stores it: entry-decode.ts `columnarText`).
 */
export function unpackRows(
  entries: readonly StoredEntry[],
  cells: Cell[],
  every: number,
  block: (rows: number) => void,
  sources?: InputSources,
): void {
  let n = 0;
  for (const e of entries) {
    const legacy = Array.isArray(e) ? e : undefined;
    const decoded = legacy ? undefined : decodeEntry((e as PackedEntry).bytes, { columnarText: !sources });
    const rows = legacy ? (legacy[0] as number) : (decoded as DecodedEntry).rows;
    for (let r = 0; r < rows; r++) {
      const at = n * PREDICTION_WIDTH;
      if (legacy) writeLegacy(legacy, r, cells, at);
      else writeDecoded(decoded as DecodedEntry, r, cells, at);
      if (sources) {
        const columns = decoded?.inputColumns;
        sources.entries.push(columns);
        sources.slots.push(columns ? (columns.slot[r] as number) : -1);
      }
      if (++n === every) {
        block(n);
        n = 0;
      }
    }
  }
  if (n > 0) block(n);
}

/** The rows of the entries as one flat array of cells, PREDICTION_WIDTH per row (`sources`: see unpackRows, text left out). */
export function flattenRows(entries: readonly StoredEntry[], sources?: InputSources): Cell[] {
  let total = 0;
  for (const e of entries) total += entryRows(e);
  const cells = new Array<Cell>(total * PREDICTION_WIDTH);
  unpackRows(entries, cells, total + 1, () => {}, sources);
  return cells;
}
