import { isAppError } from '../core/errors.js';
import type { ModelVersion } from '../registry/index.js';
import type { MonitorReferenceTable } from '../store/schema-monitoring.js';
import { type CbpeModel, fitCbpe, parseCbpeModel } from './estimation/index.js';
import { labelledRows } from './measure-performance.js';
import * as repo from './monitor.repo.js';
import type { MonitorSpec } from './monitor-spec.schema.js';
import type { MonitoringDeps } from './monitoring-deps.js';
import { firstTrafficRows } from './reference.service.js';

/*
 * The CBPE model a version's windows are estimated with, calibrated on its reference (issue 12, item
 * 5), fitted once and stored beside the reference, so every run estimates with the same calibration
 * and a new monitor version (a new reference) fits again. From the training rows, scored once through
 * the model, when the reference is the training data; else, or when they cannot be scored, from the
 * version's labelled early traffic, with the reason stated. Neither possible yet: not stored (a later
 * run tries again) and the estimates answer insufficient_data with both reasons.
 */

// Training rows scored for the calibration: enough for a stable isotonic map and the band's chunks.
const MAX_REFERENCE_ROWS = 50_000;
// Early traffic scanned for labelled rows when the training rows cannot be used.
const EARLY_TRAFFIC_ROWS = 5_000;

/** A fitted CBPE model and what it was calibrated on. */
export interface StoredCbpe {
  model: CbpeModel;
  source: 'training' | 'traffic';
  sourceRef: string;
  /** Why the training rows were not used (fallback to early traffic). */
  reason?: string;
}

const messageOf = (err: unknown): string => {
  if (isAppError(err)) return err.message;
  throw err;
};

/** The stored CBPE model of a reference, fitting and storing it on first use. */
export async function ensureCbpe(
  deps: Pick<MonitoringDeps, 'db' | 'predictions' | 'referenceScores'>,
  input: {
    reference: MonitorReferenceTable;
    spec: MonitorSpec;
    version: ModelVersion;
    deploymentId: string;
    /** The version's traffic key (its id, or `shadow:<id>`). */
    trafficKey: string;
    positive: string | undefined;
  },
): Promise<StoredCbpe | { error: string }> {
  const { reference, spec } = input;
  if (reference.cbpe !== null) {
    const stored = JSON.parse(reference.cbpe) as StoredCbpe;
    return { ...stored, model: parseCbpeModel(stored.model) };
  }
  const minRows = spec.drift.minRows;
  let why: string;
  if (reference.source === 'traffic') why = 'the reference is early traffic (no training rows to score)';
  else if (!deps.referenceScores) why = 'no scorer for the training rows here';
  else {
    try {
      const got = await deps.referenceScores(input.version, {
        maxRows: MAX_REFERENCE_ROWS,
        dataset: reference.source === 'dataset' ? reference.source_ref : undefined,
        target: spec.reference.target,
      });
      const positive = input.positive ?? '1';
      const model = fitCbpe({
        scores: got.scores,
        labels: got.labels.map((l) => (String(l) === positive ? 1 : 0)),
        minRows,
      });
      return store(deps, reference, { model, source: 'training', sourceRef: got.sourceRef });
    } catch (err) {
      why = `the training rows could not be used: ${messageOf(err)}`;
    }
  }
  const early = await firstTrafficRows(deps, {
    deploymentId: input.deploymentId,
    key: input.trafficKey,
    // A traffic reference's own rows (the same early window the drift reference was taken from).
    rows: reference.source === 'traffic' ? Number(reference.row_count) : EARLY_TRAFFIC_ROWS,
  });
  const labelled = labelledRows('classification', input.positive, early);
  if ('error' in labelled) return { error: `${why}; early traffic: ${labelled.error}` };
  try {
    const model = fitCbpe({ scores: labelled.scores, labels: labelled.labels, minRows });
    const first = labelled.rows[0]?.servedAt ?? 0;
    const last = labelled.rows.at(-1)?.servedAt ?? 0;
    return store(deps, reference, {
      model,
      source: 'traffic',
      sourceRef: `first ${labelled.labels.length} labelled rows [${new Date(first).toISOString()}, ${new Date(last).toISOString()}]`,
      reason: why,
    });
  } catch (err) {
    return { error: `${why}; early traffic (${labelled.labels.length} labelled rows): ${messageOf(err)}` };
  }
}

async function store(
  deps: Pick<MonitoringDeps, 'db'>,
  reference: MonitorReferenceTable,
  fitted: StoredCbpe,
): Promise<StoredCbpe> {
  await repo.setReferenceCbpe({ tx: deps.db, id: reference.id, cbpe: JSON.stringify(fitted) });
  // Another run may have stored one first: that one is the reference's.
  const row = await repo.findReference({
    tx: deps.db,
    monitorId: reference.monitor_id,
    monitorVersion: Number(reference.monitor_version),
    modelVersionId: reference.model_version_id,
  });
  if (row?.cbpe && row.cbpe !== JSON.stringify(fitted)) {
    const stored = JSON.parse(row.cbpe) as StoredCbpe;
    return { ...stored, model: parseCbpeModel(stored.model) };
  }
  return fitted;
}
