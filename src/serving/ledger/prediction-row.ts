import type { PredictionOutput, PredictionRole } from '../serving.schema.js';

/** What the runtime appends to the ledger, one per prediction. */
export interface PredictionRecord {
  id: string;
  deploymentId: string;
  modelVersionId: string;
  model: string;
  version: number;
  alias: string | null;
  role: PredictionRole;
  /** Epoch ms. */
  servedAt: number;
  requestKey: string | null;
  inputs: Record<string, unknown>;
  outputs: PredictionOutput;
  latencyUs: number;
  shadow: { modelVersionId: string; outputs: PredictionOutput | null; error: string | null } | null;
}

/** A cell of the prediction log as it travels to the writer: text, a number or null. */
export type Cell = string | number | null;

/*
 * The column order of a flattened row. Rows travel to the writer (a worker thread on SQLite) as one
 * flat array of cells: a structured clone of plain strings and numbers is far cheaper than of objects.
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
] as const;

export const PREDICTION_WIDTH = PREDICTION_COLUMNS.length;

/** Appends the record's cells to `out`; the JSON columns are serialised here, once. */
export function pushPredictionCells(out: Cell[], r: PredictionRecord): void {
  out.push(
    r.id,
    r.deploymentId,
    r.modelVersionId,
    r.model,
    r.version,
    r.alias,
    r.role,
    r.servedAt,
    r.requestKey,
    JSON.stringify(r.inputs),
    JSON.stringify(r.outputs),
    Math.max(0, Math.round(r.latencyUs)),
    r.shadow?.modelVersionId ?? null,
    r.shadow?.outputs ? JSON.stringify(r.shadow.outputs) : null,
    r.shadow?.error ?? null,
  );
}
