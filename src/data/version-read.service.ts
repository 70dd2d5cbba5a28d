import type { Readable } from 'node:stream';
import type { DomainDeps } from '../core/domain-deps.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { DatasetTable, DatasetVersionTable } from '../store/schema-data.js';
import * as repo from './dataset.repo.js';
import type { DatasetDiff, DatasetSummary, DatasetVersion, VersionSummary } from './dataset.schema.js';
import { parseDatasetRef } from './dataset-ref.js';
import { diffTables } from './tables/index.js';
import { toSummaries, toVersion } from './version-view.js';

const MIN_DIGEST_PREFIX = 4;

/** Reading dataset versions: refs, listings, history, files, diffs, and run-input links. */
export function createVersionReader({ db, blobs }: DomainDeps) {
  async function getDataset(name: string): Promise<DatasetTable> {
    const ds = await repo.findDatasetByName({ tx: db, name });
    if (!ds) throw new NotFoundError('dataset', name);
    return ds;
  }

  /** The row a ref names; NotFoundError naming the dataset or the version otherwise. */
  async function resolveRow(ref: string): Promise<{ dataset: DatasetTable; row: DatasetVersionTable }> {
    const parsed = parseDatasetRef(ref);
    const dataset = await getDataset(parsed.dataset);
    const s = parsed.selector;
    let row: DatasetVersionTable | undefined;
    if (s.kind === 'latest') {
      row = await repo.findLatestVersion({ tx: db, datasetId: dataset.id });
      if (!row) throw new NotFoundError('dataset version', `${dataset.name}@latest`);
    } else if (s.kind === 'number') {
      row = await repo.findVersionByNumber({ tx: db, datasetId: dataset.id, number: s.number });
    } else {
      // A tag wins over a digest prefix that happens to spell the same letters.
      row = await repo.findVersionByTag({ tx: db, datasetId: dataset.id, tag: s.value });
      if (!row && /^[0-9a-f]+$/.test(s.value) && s.value.length >= MIN_DIGEST_PREFIX) {
        const hits = await repo.findVersionsByDigestPrefix({
          tx: db,
          datasetId: dataset.id,
          prefix: s.value,
        });
        if (hits.length > 1) {
          throw new ValidationError(
            `ref: digest prefix '${s.value}' matches several versions of '${dataset.name}'; give more characters`,
            { field: 'ref' },
          );
        }
        row = hits[0];
      }
    }
    if (!row) throw new NotFoundError('dataset version', parsed.text);
    return { dataset, row };
  }

  async function resolve(ref: string): Promise<DatasetVersion> {
    const { dataset, row } = await resolveRow(ref);
    return toVersion(db, row, dataset.name);
  }

  async function findById(id: string): Promise<DatasetVersion | undefined> {
    const row = await repo.findVersionById({ tx: db, id });
    if (!row) return undefined;
    const [ds] = await repo.listDatasetsByIds({ tx: db, ids: [row.dataset_id] });
    return toVersion(db, row, ds?.name ?? '?');
  }

  async function get(id: string): Promise<DatasetVersion> {
    const v = await findById(id);
    if (!v) throw new NotFoundError('dataset version', id);
    return v;
  }

  async function listDatasets(): Promise<DatasetSummary[]> {
    const [datasets, counts] = await Promise.all([
      repo.listDatasets({ tx: db }),
      repo.versionCounts({ tx: db }),
    ]);
    const byId = new Map(counts.map((c) => [c.dataset_id, c]));
    const latestRows = (
      await Promise.all(
        datasets.map((d) => {
          const c = byId.get(d.id);
          return c ? repo.findVersionByNumber({ tx: db, datasetId: d.id, number: Number(c.max) }) : undefined;
        }),
      )
    ).filter((r): r is DatasetVersionTable => r !== undefined);
    const latest = new Map((await toSummaries(db, latestRows)).map((s) => [s.dataset, s]));
    return datasets.map((d) => {
      const l = latest.get(d.name);
      return {
        name: d.name,
        createdAt: new Date(d.created_at).toISOString(),
        versions: Number(byId.get(d.id)?.n ?? 0),
        ...(l ? { latest: l } : {}),
      };
    });
  }

  /** Every version of a dataset, newest first, with parents and tags (`data log`). */
  async function listVersions(name: string): Promise<VersionSummary[]> {
    const dataset = await getDataset(name);
    return toSummaries(db, await repo.listVersions({ tx: db, datasetId: dataset.id }));
  }

  /** A verified stream of one file of a version. */
  async function openFile(
    ref: string,
    path: string,
  ): Promise<{ stream: Readable; size: number; sha256: string; path: string }> {
    const { dataset, row } = await resolveRow(ref);
    const file = await repo.findFile({ tx: db, versionId: row.id, path });
    if (!file) throw new NotFoundError('file', `${dataset.name}@${row.number}/${path}`);
    return { stream: await blobs.get(file.sha256), size: Number(file.size), sha256: file.sha256, path };
  }

  /** Files added, removed and changed from a to b; tables in both compared from their stored profiles. */
  async function diff(aRef: string, bRef: string): Promise<DatasetDiff> {
    const [a, b] = await Promise.all([resolveRow(aRef), resolveRow(bRef)]);
    const [va, vb] = await Promise.all([
      toVersion(db, a.row, a.dataset.name),
      toVersion(db, b.row, b.dataset.name),
    ]);
    const [sa, sb] = await toSummaries(db, [a.row, b.row]);
    const inA = new Map(va.files.map((f) => [f.path, f]));
    const inB = new Map(vb.files.map((f) => [f.path, f]));
    const changed: DatasetDiff['changed'] = [];
    let unchanged = 0;
    for (const [p, fa] of inA) {
      const fb = inB.get(p);
      if (!fb) continue;
      if (fa.sha256 === fb.sha256) unchanged++;
      else
        changed.push({
          path: p,
          a: { size: fa.size, sha256: fa.sha256 },
          b: { size: fb.size, sha256: fb.sha256 },
        });
    }
    const tablesB = new Map(vb.tables.map((t) => [t.path, t]));
    const tables = va.tables.flatMap((ta) => {
      const tb = tablesB.get(ta.path);
      return tb ? [{ path: ta.path, diff: diffTables(ta, tb) }] : [];
    });
    return {
      a: sa!,
      b: sb!,
      added: vb.files.filter((f) => !inA.has(f.path)),
      removed: va.files.filter((f) => !inB.has(f.path)),
      changed,
      unchanged,
      tables,
    };
  }

  /**
   * The dataset version a run input names, for tracking's logInputs hook: an explicit id (which must
   * exist), a ref in the name (`credit-train@3`), or a dataset name whose version digest matches (full or
   * a prefix of 8+ characters, as MLflow clients send). Anything else is an unrelated dataset: no link.
   */
  async function linkForRunInput(d: { name: string; digest: string; datasetVersionId?: string }) {
    if (d.datasetVersionId) {
      const row = await repo.findVersionById({ tx: db, id: d.datasetVersionId });
      if (!row) throw new NotFoundError('dataset version', d.datasetVersionId);
      return row.id;
    }
    if (d.name.includes('@')) return (await resolveRow(d.name)).row.id;
    const dataset = await repo.findDatasetByName({ tx: db, name: d.name });
    const digest = d.digest.toLowerCase();
    if (!dataset || !/^[0-9a-f]{8,64}$/.test(digest)) return undefined;
    const hits = await repo.findVersionsByDigestPrefix({ tx: db, datasetId: dataset.id, prefix: digest });
    return hits.length === 1 ? hits[0]!.id : undefined;
  }

  return { resolve, resolveRow, get, findById, listDatasets, listVersions, openFile, diff, linkForRunInput };
}

export type VersionReader = ReturnType<typeof createVersionReader>;
