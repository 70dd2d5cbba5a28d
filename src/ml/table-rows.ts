import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { seededRandom } from '../core/random.js';
import { readTableFile } from '../data/tables/index.js';
import type { DatasetVersionLike, MlApi } from './ml-port.js';
import type { Task, TrainingTable } from './trainers/index.js';

/*
 * Small helpers shared by training, evaluation and sweeps: fetching a dataset version's table,
 * turning columns into the row records models take, the seeded validation split, and labels as 0/1.
 */

export interface LoadedDataset {
  version: DatasetVersionLike;
  /** `<dataset>@<number>`: the ref people read; the digest pins it. */
  ref: string;
  table: TrainingTable;
  tablePath: string;
}

/**
 * Fetches a dataset version through the API into a temp folder and reads its table (the first one,
 * or `tablePath` when the version holds several). The folder is removed once the table is in memory.
 */
export async function loadDataset(
  api: Pick<MlApi, 'data'>,
  ref: string,
  opts: { tablePath?: string; workDir?: string } = {},
): Promise<LoadedDataset> {
  const dir = fs.mkdtempSync(path.join(opts.workDir ?? os.tmpdir(), 'sextant-ml-'));
  try {
    const version = await api.data.get(ref, dir);
    const tables = version.tables;
    const entry = opts.tablePath ? tables.find((t) => t.path === opts.tablePath) : tables[0];
    if (!entry) {
      if (opts.tablePath) throw new NotFoundError('table', `${ref}:${opts.tablePath}`);
      throw new ValidationError(
        `--dataset: version ${ref} holds no table (csv, parquet or jsonl) to train on`,
        {
          field: 'dataset',
        },
      );
    }
    const table = await readTableFile(path.join(dir, entry.path), entry.format, {
      nullValues: entry.schema?.nullValues,
    });
    return { version, ref: `${version.dataset}@${version.number}`, table, tablePath: entry.path };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The values of a column, or a ValidationError naming the option and the columns there are. */
export function columnValues(
  table: TrainingTable,
  name: string,
  field: string,
): TrainingTable['columns'][number] {
  const col = table.columns.find((c) => c.name === name);
  if (!col) {
    const names = table.columns.map((c) => c.name).join(', ');
    throw new ValidationError(`${field}: column '${name}' does not exist (columns: ${names})`, {
      field,
      column: name,
    });
  }
  return col;
}

/** Classification when the target is text or boolean or has at most two distinct values; else regression. */
export function inferTask(column: TrainingTable['columns'][number]): Task {
  if (column.type === 'string' || column.type === 'boolean') return 'classification';
  const distinct = new Set<unknown>();
  for (const v of column.values) {
    if (v === null) continue;
    distinct.add(v);
    if (distinct.size > 2) return 'regression';
  }
  return 'classification';
}

/** Row records with the given columns (for predict / predictOnnx), for all rows or the given ones. */
export function rowRecords(
  table: TrainingTable,
  columns: string[],
  rows?: ArrayLike<number>,
): Record<string, unknown>[] {
  const cols = columns.map((n) => columnValues(table, n, 'features'));
  const count = rows ? rows.length : table.rowCount;
  const out: Record<string, unknown>[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const r = rows ? rows[i]! : i;
    const rec: Record<string, unknown> = {};
    for (const c of cols) rec[c.name] = c.values[r];
    out[i] = rec;
  }
  return out;
}

/**
 * The validation split: a seeded Fisher-Yates shuffle of the row indices, the first
 * round(n * fraction) held out. Both lists come back sorted so the split is easy to record and compare.
 */
export function splitRows(
  rowCount: number,
  fraction: number,
  seed: number,
): { train: number[]; validation: number[] } {
  const idx = Array.from({ length: rowCount }, (_, i) => i);
  const rand = seededRandom(seed);
  for (let i = rowCount - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  const k = Math.round(rowCount * fraction);
  if (k < 1 || k >= rowCount)
    throw new ValidationError(
      `--val-fraction: ${fraction} of ${rowCount} rows leaves no ${k < 1 ? 'validation' : 'training'} rows`,
      { field: 'valFraction' },
    );
  return {
    validation: idx.slice(0, k).sort((a, b) => a - b),
    train: idx.slice(k).sort((a, b) => a - b),
  };
}

/** Targets as numbers: 1 for the positive class (classes[1]) and 0 otherwise, or the numeric value. */
export function targetValues(
  values: ArrayLike<unknown>,
  task: Task,
  classes: string[] | undefined,
  rows?: ArrayLike<number>,
): Float64Array {
  const n = rows ? rows.length : values.length;
  const out = new Float64Array(n);
  const positive = classes?.[1];
  // K > 2 classes: the class index; a label the model does not know is refused, naming it.
  const index = classes && classes.length > 2 ? new Map(classes.map((c, k) => [c, k])) : undefined;
  for (let i = 0; i < n; i++) {
    const v = values[rows ? rows[i]! : i];
    if (index) {
      const k = index.get(String(v));
      if (k === undefined)
        throw new ValidationError(
          `target: label '${String(v)}' is not one of the model's classes (${classes!.join(', ')})`,
          { field: 'target', label: String(v), classes },
        );
      out[i] = k;
    } else if (task === 'classification') out[i] = String(v) === positive ? 1 : 0;
    else out[i] = typeof v === 'number' ? v : Number(v);
  }
  return out;
}

/** The two classes of a binary target in the trainers' order (sorted as strings), for models without a signature. */
export function binaryClasses(values: ArrayLike<unknown>): string[] {
  const distinct = new Set<string>();
  let numeric = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    distinct.add(String(v));
    if (typeof v !== 'number') numeric = false;
  }
  // The trainers' order: numbers numerically (0 before 1), text by code point.
  return [...distinct].sort(numeric ? (a, b) => Number(a) - Number(b) : undefined);
}

/** Reads a stream to the end. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}
