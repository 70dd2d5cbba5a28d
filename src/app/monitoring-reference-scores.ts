import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { BlobStore } from '../blobs/index.js';
import { ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import { type DatasetVersion, readStoredTable } from '../data/index.js';
import type { Scorer } from '../governance/index.js';
import type { ReferenceScorer } from '../monitoring/index.js';
import type { ModelVersion } from '../registry/index.js';

/*
 * CBPE's reference from the training data (issue 12, item 5): the version's first training dataset
 * version's table holding the target, its first maxRows rows scored once through serving's runtime.
 * Wired here because it joins four domains (registry bytes, data tables, serving's scorer, monitoring).
 */
export function referenceScoresOf(deps: {
  blobs: BlobStore;
  datasets: { get(id: string): Promise<DatasetVersion> };
  download(ref: string): Promise<{ version: ModelVersion; stream: unknown }>;
  openScorer(bytes: Uint8Array, version: ModelVersion): Promise<Scorer>;
}): ReferenceScorer {
  return async (version, { maxRows }) => {
    const ref = `${version.model}@${version.version}`;
    const target = version.signature?.declared?.target;
    if (typeof target !== 'string')
      throw new ValidationError(`${ref} records no training target in its signature`, { field: 'reference' });
    const id = version.datasetVersionIds[0];
    if (id === undefined)
      throw new ValidationError(`${ref} records no training dataset version`, { field: 'reference' });
    const dv = await deps.datasets.get(id);
    const table = dv.tables.find((t) => t.schema.columns.some((c) => c.name === target));
    const file = table && dv.files.find((f) => f.path === table.path);
    if (!table || !file)
      throw new ValidationError(`no table of ${dv.dataset}@${dv.number} holds the target '${target}'`, {
        field: 'reference',
      });
    const data = await readStoredTable(deps.blobs, file, table.format, {
      nullValues: table.schema.nullValues,
    });
    const n = Math.min(data.rowCount, maxRows);
    const features = data.columns.filter((c) => c.name !== target);
    const labels = (data.columns.find((c) => c.name === target)?.values ?? []).slice(0, n);
    const rows: Record<string, unknown>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const rec: Record<string, unknown> = {};
      for (const c of features) rec[c.name] = c.values[i];
      rows[i] = rec;
    }
    const { version: got, stream } = await deps.download(ref);
    const bytes = new Uint8Array(await buffer(stream as Readable));
    if (got.id !== version.id || sha256Hex(bytes) !== version.sha256)
      throw new ValidationError(`${ref}: the model file differs from the registry's record`, {
        field: 'model',
      });
    const scorer = await deps.openScorer(bytes, version);
    try {
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
