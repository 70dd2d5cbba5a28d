import type { PredictionAnswer, PredictionColumns } from '../serving/index.js';

/** The prediction log's columnar scan (serving's PredictionStore fits): pages oldest first over [since, until). */
export interface PredictionScan {
  scanColumns(q: {
    deploymentId: string;
    since: number;
    until: number;
    batchSize?: number;
  }): AsyncIterable<PredictionColumns>;
}

/*
 * One window of a deployment's prediction log, split per model version: the champion's rows, a canary
 * challenger's rows (they carry its version) and a shadow challenger's answers (carried on the
 * champion's rows, with the same inputs and label). Each version is judged on its own traffic.
 */

export interface ServedRow {
  /** The prediction's id where a label came in (the rows a metric may name); the scan reads no other. */
  id: string | undefined;
  servedAt: number;
  inputs: Record<string, unknown>;
  prediction: number | string | null;
  probabilities: Record<string, number> | undefined;
  /** The delayed label, when it came in; with the delay from serving to label. */
  label: number | string | boolean | undefined;
  labelDelayMs: number | undefined;
}

export interface VersionTraffic {
  modelVersionId: string;
  /** Known from the rows for champion and canary; a shadow's comes from the registry (see resolveShadow). */
  model: string;
  version: number | undefined;
  role: 'champion' | 'challenger' | 'shadow';
  rows: ServedRow[];
}

/** Row i of a page: its inputs as one object (the features it holds), shared by its champion and shadow rows. */
function inputsOf(page: PredictionColumns, i: number): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const [name, col] of page.inputs) {
    const v = col[i];
    if (v !== undefined) inputs[name] = v;
  }
  return inputs;
}

function served(
  page: PredictionColumns,
  i: number,
  inputs: Record<string, unknown>,
  outputs: NonNullable<PredictionAnswer['outputs']>,
): ServedRow {
  const servedAt = page.servedAt[i] as number;
  const label = page.labels[i];
  return {
    id: label?.predictionId,
    servedAt,
    inputs,
    prediction: outputs.prediction,
    probabilities: outputs.probabilities,
    label: label?.value,
    labelDelayMs: label ? label.receivedAt - servedAt : undefined,
  };
}

/** Adds one page of the log to per-version traffic (keyed by version id; a shadow's by `shadow:<id>`). */
export function splitPage(page: PredictionColumns, out: Map<string, VersionTraffic>): void {
  const add = (key: string, init: () => VersionTraffic, row: ServedRow) => {
    let t = out.get(key);
    if (!t) {
      t = init();
      out.set(key, t);
    }
    t.rows.push(row);
  };
  for (let i = 0; i < page.length; i++) {
    const p = page.answers[i] as PredictionAnswer;
    // A failed prediction (its model server failed) answered nothing: it is no one's traffic.
    if (p.outputs === null) continue;
    const inputs = inputsOf(page, i);
    add(
      p.modelVersionId,
      () => ({
        modelVersionId: p.modelVersionId,
        model: p.model,
        version: p.version,
        role: p.role,
        rows: [],
      }),
      served(page, i, inputs, p.outputs),
    );
    // A shadow that failed on a row has no answer there: the row is not its traffic.
    const shadow = p.shadow;
    if (shadow?.outputs)
      add(
        `shadow:${shadow.modelVersionId}`,
        () => ({
          modelVersionId: shadow.modelVersionId,
          model: p.model,
          version: undefined,
          role: 'shadow',
          rows: [],
        }),
        served(page, i, inputs, shadow.outputs),
      );
  }
}

/** Reads [since, until) of a deployment's log (oldest first) into per-version traffic. */
export async function readWindow(
  predictions: PredictionScan,
  q: { deploymentId: string; since: number; until: number },
): Promise<Map<string, VersionTraffic>> {
  const out = new Map<string, VersionTraffic>();
  for await (const page of predictions.scanColumns({ ...q, batchSize: 5000 })) splitPage(page, out);
  return out;
}

/** The last n rows (a count window), or all when fewer. */
export function lastRows(t: VersionTraffic, n: number, skip = 0): VersionTraffic {
  const end = Math.max(0, t.rows.length - skip);
  return { ...t, rows: t.rows.slice(Math.max(0, end - n), end) };
}
