import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../../blobs/index.js';
import { ValidationError } from '../../core/errors.js';
import { seededRandom } from '../../core/random.js';
import type { DatasetVersion } from '../../data/dataset.schema.js';
import { readTableFile } from '../../data/tables/index.js';
import { featureColumns, featureRecords } from '../../ml/index.js';
import type { ModelVersion } from '../../registry/index.js';
import type { DatasetVersionSource } from '../governance-deps.js';

/** Background rows sampled from the training data by default. */
export const DEFAULT_BACKGROUND_SIZE = 100;
/** Model versions whose background is kept in memory. */
const CACHE_ENTRIES = 16;

export interface BackgroundRequest {
  version: ModelVersion;
  /** The model's features: the columns taken from the training table. */
  features: string[];
  size?: number;
  seed?: number;
  /**
   * `<dataset>@<v>` to sample from instead of the training data (a model registered from a file has
   * none): its columns feed the features by ml's featureColumns rule (by name, else in order for an
   * unnamed float tensor).
   */
  dataset?: string | undefined;
}

/**
 * The background sample explanations are measured against: a seeded sample of the rows of the
 * version's training data (its first dataset version's table holding every feature), cached per
 * model version (a small LRU). A version without training data is a ValidationError that tells the
 * caller to pass a background.
 */
export function createBackgroundSource(deps: { datasetVersions: DatasetVersionSource; blobs: BlobStore }) {
  const cache = new Map<string, Promise<Record<string, unknown>[]>>();

  async function load(
    req: BackgroundRequest,
    size: number,
    seed: number,
  ): Promise<Record<string, unknown>[]> {
    const { version, features } = req;
    const ref = `${version.model}@${version.version}`;
    if (req.dataset !== undefined) return fromDataset(req, req.dataset, size, seed);
    const datasetId = version.datasetVersionIds[0];
    if (datasetId === undefined) {
      throw new ValidationError(
        `${ref} has no training data recorded to draw a background sample from; pass background records to explain it, or a dataset version to sample them from (--background <dataset>@<v>)`,
        { field: 'background' },
      );
    }
    const ds = await deps.datasetVersions.get(datasetId);
    const dsRef = `${ds.dataset}@${ds.number}`;
    const table = ds.tables.find((t) => features.every((f) => t.schema.columns.some((c) => c.name === f)));
    if (!table) {
      throw new ValidationError(
        `no table of ${dsRef} (the training data of ${ref}) holds the model's features (${features.join(', ')}); pass background records`,
        { field: 'background' },
      );
    }
    return sampleTable(ds, table, features, features, size, seed);
  }

  /** A seeded sample of a named dataset version's first table that can feed the model. */
  async function fromDataset(
    req: BackgroundRequest,
    datasetRef: string,
    size: number,
    seed: number,
  ): Promise<Record<string, unknown>[]> {
    const { version, features } = req;
    const ref = `${version.model}@${version.version}`;
    const ds = await deps.datasetVersions.get((await deps.datasetVersions.resolve(datasetRef)).id);
    const dsRef = `${ds.dataset}@${ds.number}`;
    const target = version.signature?.declared?.target;
    let firstError: unknown;
    for (const table of ds.tables) {
      let columns: string[];
      try {
        columns = featureColumns({
          model: ref,
          dataset: `${dsRef}:${table.path}`,
          features,
          columns: table.schema.columns.map((c) => c.name),
          exclude: typeof target === 'string' ? [target] : [],
        });
      } catch (err) {
        firstError ??= err;
        continue;
      }
      return sampleTable(ds, table, features, columns, size, seed);
    }
    if (firstError instanceof ValidationError) {
      throw new ValidationError(`background: ${firstError.message}`, {
        ...firstError.details,
        field: 'background',
      });
    }
    throw new ValidationError(`background: ${dsRef} holds no table to sample from`, { field: 'background' });
  }

  /** `size` seeded rows of a table, keyed by the model's features (column j feeds features[j]). */
  async function sampleTable(
    ds: DatasetVersion,
    table: DatasetVersion['tables'][number],
    features: string[],
    columns: string[],
    size: number,
    seed: number,
  ): Promise<Record<string, unknown>[]> {
    const dsRef = `${ds.dataset}@${ds.number}`;
    const file = ds.files.find((f) => f.path === table.path);
    if (!file)
      throw new ValidationError(`${dsRef} lists ${table.path} without its file`, { field: 'background' });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sextant-background-'));
    try {
      const local = path.join(dir, path.posix.basename(file.path));
      await pipeline(await deps.blobs.get(file.sha256), createWriteStream(local, { flags: 'wx' }));
      const data = await readTableFile(local, table.format, {
        columns: [...new Set(columns)],
        nullValues: table.schema.nullValues,
      });
      const rows = sampleRows(data.rowCount, size, seed);
      if (rows.length === 0) {
        throw new ValidationError(
          `${dsRef} has no rows to draw a background sample from; pass background records`,
          {
            field: 'background',
          },
        );
      }
      const byName = new Map(data.columns.map((c) => [c.name, c.values]));
      return featureRecords((c) => byName.get(c), features, columns, rows);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  return {
    /** The background rows (the same rows for the same version, features, size and seed). */
    get(req: BackgroundRequest): Promise<Record<string, unknown>[]> {
      const size = req.size ?? DEFAULT_BACKGROUND_SIZE;
      const seed = req.seed ?? 0;
      const key = JSON.stringify([
        req.version.id,
        req.version.sha256,
        size,
        seed,
        req.features,
        req.dataset ?? null,
      ]);
      let hit = cache.get(key);
      if (hit) {
        cache.delete(key); // re-insert: most recently used last
      } else {
        hit = load(req, size, seed);
        hit.catch(() => cache.delete(key));
      }
      cache.set(key, hit);
      while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      return hit;
    },
  };
}

export type BackgroundSource = ReturnType<typeof createBackgroundSource>;

/** A seeded draw of min(size, n) distinct row indices, in ascending order. */
export function sampleRows(n: number, size: number, seed: number): number[] {
  const k = Math.min(size, n);
  if (k === n) return Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let j = 0; j < k; j++) {
    const pick = j + Math.floor(random() * (n - j));
    [idx[j], idx[pick]] = [idx[pick]!, idx[j]!];
  }
  return idx.slice(0, k).sort((a, b) => a - b);
}
