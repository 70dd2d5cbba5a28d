import type { PredictionOutput, PredictionRole } from '../serving.schema.js';

/** What every prediction of one request shares: where, by what, when, and how fast it was answered. */
interface PredictionContext {
  deploymentId: string;
  modelVersionId: string;
  model: string;
  version: number;
  alias: string | null;
  role: PredictionRole;
  /** Epoch ms. */
  servedAt: number;
  requestKey: string | null;
  latencyUs: number;
}

/** What the runtime appends to the ledger, one per prediction. */
export interface PredictionRecord extends PredictionContext {
  id: string;
  inputs: Record<string, unknown>;
  outputs: PredictionOutput;
  shadow: { modelVersionId: string; outputs: PredictionOutput | null; error: string | null } | null;
}

/**
 * The predictions of one request, as the runtime appends them (appendBatch): what the records share is
 * given once; ids, inputs, outputs (and the shadow's outputs) one per record, in the same order.
 */
export interface PredictionBatch extends PredictionContext {
  ids: string[];
  inputs: Record<string, unknown>[];
  outputs: PredictionOutput[];
  /** outputs: one per record (null where the shadow gave none), or null when the shadow failed. */
  shadow: {
    modelVersionId: string;
    outputs: (PredictionOutput | null)[] | null;
    error: string | null;
  } | null;
  /**
   * Set when the model failed the request (an external model server down, slow or answering
   * garbage): every record is logged as failed, with this error and no output (`outputs` is ignored).
   */
  error?: { code: string; message: string } | null;
}

/** A cell of the prediction log as it travels to the writer: text, a number or null. */
export type Cell = string | number | null;

/*
 * The column order of a flattened row (the INSERT's column list).
 */
export const PREDICTION_COLUMNS = [
  'id',
  'deployment_id',
  'model_version_id',
  'model',
  'version',
  'alias',
  'role',
  'served_at',
  'request_key',
  'inputs',
  'outputs',
  'latency_us',
  'shadow_version_id',
  'shadow_outputs',
  'shadow_error',
  'error',
] as const;

export const PREDICTION_WIDTH = PREDICTION_COLUMNS.length;

/*
 * A packed entry: the rows of one request as they travel to the writer (a worker thread on SQLite,
 * where a structured clone of a flat array of strings and numbers is far cheaper than of objects, and
 * the fewer cells the cheaper). The columns the rows share come once, in a header; each row adds its
 * four own cells:
 *   [rows, deployment_id, model_version_id, model, version, alias, role, served_at, request_key,
 *    latency_us, shadow_version_id, shadow_error, error,  then per row: id, inputs, outputs, shadow_outputs]
 * The JSON columns are serialised here, once, on the main thread.
 */
export type PackedEntry = Cell[];
const HEADER = 13;
const PER_ROW = 4;

const json = (v: unknown): string => JSON.stringify(v);

/** Packs records [from, to) of a request's batch. */
export function packBatch(b: PredictionBatch, from = 0, to = b.ids.length): PackedEntry {
  const rows = to - from;
  const out = new Array<Cell>(HEADER + rows * PER_ROW);
  out[0] = rows;
  out[1] = b.deploymentId;
  out[2] = b.modelVersionId;
  out[3] = b.model;
  out[4] = b.version;
  out[5] = b.alias;
  out[6] = b.role;
  out[7] = b.servedAt;
  out[8] = b.requestKey;
  out[9] = Math.max(0, Math.round(b.latencyUs));
  out[10] = b.shadow?.modelVersionId ?? null;
  out[11] = b.shadow?.error ?? null;
  // A failed request's rows: the error once, and JSON null as each row's outputs.
  out[12] = b.error ? json(b.error) : null;
  const outputs = b.error ? null : b.outputs;
  const shadowOutputs = b.shadow?.outputs ?? null;
  let k = HEADER;
  for (let i = from; i < to; i++) {
    out[k++] = b.ids[i] as string;
    out[k++] = json(b.inputs[i]);
    out[k++] = outputs ? json(outputs[i]) : 'null';
    const s = shadowOutputs?.[i];
    out[k++] = s ? json(s) : null;
  }
  return out;
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

/** Rows in a packed entry. */
export const entryRows = (e: PackedEntry): number => e[0] as number;

/**
 * Writes the rows of the entries, in order, into `cells` (PREDICTION_WIDTH cells per row, in
 * PREDICTION_COLUMNS order) in blocks of `every` rows: each full block, and the last partial one, is
 * handed to `block(rows)` and then overwritten by the next, so a caller binds fixed-size parameter
 * arrays in place.
 */
export function unpackRows(
  entries: PackedEntry[],
  cells: Cell[],
  every: number,
  block: (rows: number) => void,
): void {
  let n = 0;
  for (const e of entries) {
    const rows = e[0] as number;
    for (let r = 0, k = HEADER; r < rows; r++, k += PER_ROW) {
      const at = n * PREDICTION_WIDTH;
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
      if (++n === every) {
        block(n);
        n = 0;
      }
    }
  }
  if (n > 0) block(n);
}

/** The rows of the entries as one flat array of cells, PREDICTION_WIDTH per row. */
export function flattenRows(entries: PackedEntry[]): Cell[] {
  let total = 0;
  for (const e of entries) total += e[0] as number;
  const cells = new Array<Cell>(total * PREDICTION_WIDTH);
  unpackRows(entries, cells, total + 1, () => {});
  return cells;
}
