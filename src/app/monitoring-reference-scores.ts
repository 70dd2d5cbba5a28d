import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { BlobStore } from '../blobs/index.js';
import { ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import { type DatasetVersion, readStoredTable } from '../data/index.js';
import type { Scorer } from '../governance/index.js';
import { featureColumns, featureRecords } from '../ml/index.js';
import type { ReferenceScorer } from '../monitoring/index.js';
import type { ModelVersion } from '../registry/index.js';

/*
 * CBPE's reference from the training data (issue 12, item 5): the version's first training dataset
 * version's table holding the target (or the monitor's dataset reference and reference.target, for a
 * model registered from a file), its first maxRows rows scored once through serving's runtime.
 * Wired here because it joins four domains (registry bytes, data tables, serving's scorer, monitoring).
 */
export function referenceScoresOf(deps: {
  blobs: BlobStore;
  datasets: { get(id: string): Promise<DatasetVersion>; resolve(ref: string): Promise<DatasetVersion> };
  download(ref: string): Promise<{ version: ModelVersion; stream: unknown }>;
  openScorer(bytes: Uint8Array, version: ModelVersion): Promise<ReferenceScorerModel>;
}): ReferenceScorer {
  return async (version, { maxRows, dataset, target: named }) => {
    const ref = `${version.model}@${version.version}`;
    const declared = version.signature?.declared?.target;
    const target = named ?? (typeof declared === 'string' ? declared : undefined);
    if (target === undefined)
      throw new ValidationError(
        `${ref} records no training target in its signature; name the label column in the monitor's reference (reference.target)`,
        { field: 'reference' },
      );
    let dv: DatasetVersion;
    let tablePath: string | undefined;
    // A dataset reference's rows are scored when the version has no training data on record (a model
    // registered from a file) or the reference names its label column; else the training rows, as before.
    if (dataset !== undefined && (named !== undefined || version.datasetVersionIds.length === 0)) {
      // `<dataset>@<v>` or `<dataset>@<v>:<table>` (a reference names its table when there are several).
      const colon = dataset.indexOf(':', dataset.indexOf('@'));
      dv = await deps.datasets.resolve(colon < 0 ? dataset : dataset.slice(0, colon));
      if (colon >= 0) tablePath = dataset.slice(colon + 1);
    } else {
      const id = version.datasetVersionIds[0];
      if (id === undefined)
        throw new ValidationError(`${ref} records no training dataset version`, { field: 'reference' });
      dv = await deps.datasets.get(id);
    }
    const table = dv.tables.find(
      (t) =>
        (tablePath === undefined || t.path === tablePath) && t.schema.columns.some((c) => c.name === target),
    );
    const file = table && dv.files.find((f) => f.path === table.path);
    if (!table || !file)
      throw new ValidationError(`no table of ${dv.dataset}@${dv.number} holds the target '${target}'`, {
        field: 'reference',
      });
    const data = await readStoredTable(deps.blobs, file, table.format, {
      nullValues: table.schema.nullValues,
    });
    const n = Math.min(data.rowCount, maxRows);
    const labels = (data.columns.find((c) => c.name === target)?.values ?? []).slice(0, n);
    const { version: got, stream } = await deps.download(ref);
    const bytes = new Uint8Array(await buffer(stream as Readable));
    if (got.id !== version.id || sha256Hex(bytes) !== version.sha256)
      throw new ValidationError(`${ref}: the model file differs from the registry's record`, {
        field: 'model',
      });
    const scorer = await deps.openScorer(bytes, version);
    try {
      // The rows keyed by the model's features: by name, or for an unnamed float tensor the table's
      // other columns in order (ml's featureColumns, the rule evaluation and batch scoring use).
      // A scorer that does not list its features (not an ONNX runtime) takes every other column by name.
      const features =
        scorer.features?.map((f) => f.name) ?? data.columns.map((c) => c.name).filter((c) => c !== target);
      const columns = featureColumns({
        model: ref,
        dataset: `${dv.dataset}@${dv.number}:${table.path}`,
        features,
        columns: data.columns.map((c) => c.name),
        exclude: [target],
      });
      const byName = new Map(data.columns.map((c) => [c.name, c.values]));
      const rows = featureRecords((c) => byName.get(c), features, columns, n);
      return {
        scores: await scorer.score(rows),
        labels,
        sourceRef: `${dv.dataset}@${dv.number}:${table.path} (${n} rows)`,
      };
    } finally {
      await scorer.release();
    }
  };
}

/** What reference scoring needs of a loaded model: serving's model (its features, in input order). */
export interface ReferenceScorerModel extends Scorer {
  features?: readonly { name: string }[];
}
