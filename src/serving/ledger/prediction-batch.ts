import type { PredictionOutput, PredictionRole } from '../serving.schema.js';

/*
 * What the runtime hands the ledger (a request's predictions) and the row each prediction becomes.
 * prediction-row.ts packs the one into the other; this file holds only the shapes, so the entry codec
 * (entry-encode.ts, entry-decode.ts) and the packing functions can share them without a cycle.
 */

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
  /**
   * The JSON text of each output (JSON.stringify's), when the caller built it for its reply: the log
   * then writes it as it is instead of writing the same text again.
   */
  outputsJson?: readonly (string | undefined)[];
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
