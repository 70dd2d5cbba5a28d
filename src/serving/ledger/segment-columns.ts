import { readFile, rename, writeFile } from 'node:fs/promises';
import type { DuckDBConnection, DuckDBVector } from '@duckdb/node-api';
import { ident, lit, openConnection } from '../../data/index.js';
import { answerOf, type KeyedColumns, type PredictionAnswer, type RowLabel } from './prediction-columns.js';
import { PREDICTION_COLUMNS } from './prediction-row.js';
import {
  GROUP_COLUMN,
  groupedRows,
  heldColumns,
  inputGroups,
  inputsTexts,
  numbersOf,
  schemaOf,
} from './segment-inputs.js';
import { inputColumnName, parquetConditions } from './segment-parquet.js';

/*
 * Sealed segments read as columns through DuckDB: the serving times, the typed `input:<feature>`
 * columns sealing writes, and per row a code of its answer (who answered, with what) and of its label.
 * Only numbers cross into JavaScript row by row, most as one copy of DuckDB's buffer: a million rows of
 * strings (ids, outputs) would cost seconds, so answers come as a small table of the distinct ones and
 * labels as an index into those the caller read from the database.
 *
 * A feature without a typed column in every file (missing from some rows, null, nested, of mixed
 * types), or a file whose rows may hold more features than its typed columns, is read from each
 * row's inputs JSON text (the record of truth; slower, never wrong): the text stored, or for a row
 * sealed without it, the text rebuilt from its own file's typed columns (segment-inputs.ts).
 */

/** Row-level conditions of a monitoring scan (answered predictions only). */
export interface SealedScanWhere {
  deploymentIds?: string[] | undefined;
  since?: number | undefined;
  until?: number | undefined;
  modelVersionId?: string | undefined;
}

// The most input features a row of a file holds, by path (a cached file never changes).
const mostKeys = new Map<string, number>();

/** Where the count of `mostKeysOf` is kept beside a cached Parquet file (pruned with it). */
export const inputKeysPath = (parquetFile: string): string => `${parquetFile}.input-keys`;

/**
 * The most input features a row of these files holds. Every key of the `inputs` JSON is written
 * `"name":`, so a row with no more `":` than a file's typed features holds no other feature (a string
 * value holding `":` only sends the read to the JSON, never misses a feature); a row sealed without
 * its text (NULL) holds exactly its file's typed features. Reading the JSON text is the costly part
 * of a scan (several times the typed columns' read): it is done once per cached file and host, its
 * answer kept beside the file.
 */
async function mostKeysOf(c: DuckDBConnection, files: string[]): Promise<number> {
  for (const f of files) {
    if (mostKeys.has(f)) continue;
    const kept = Number.parseInt(await readFile(inputKeysPath(f), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(kept) && kept >= 0) {
      mostKeys.set(f, kept);
      continue;
    }
    const typedCount = [...(await schemaOf(c, f)).keys()].filter((k) => k.startsWith('input:')).length;
    const n = Number(
      (
        await c.runAndReadAll(
          `SELECT max(CASE WHEN inputs IS NULL THEN ${typedCount} ELSE len(string_split(inputs, '":')) - 1 END) AS n FROM read_parquet(${lit(f)})`,
        )
      ).getRowObjectsJS()[0]?.n ?? 0,
    );
    mostKeys.set(f, n);
    // Written whole then renamed: a reader never sees half a number.
    const tmp = `${inputKeysPath(f)}.${process.pid}.tmp`;
    await writeFile(tmp, String(n));
    await rename(tmp, inputKeysPath(f));
  }
  return Math.max(0, ...files.map((f) => mostKeys.get(f) ?? 0));
}

const TYPED = new Set(['DOUBLE', 'VARCHAR', 'BOOLEAN']);

/** The features every file holds as a typed column of one type, in the first file's column order. */
async function typedFeatures(c: DuckDBConnection, files: string[]): Promise<Map<string, string>> {
  const all = await Promise.all(files.map((f) => schemaOf(c, f)));
  const out = new Map<string, string>();
  for (const [col, type] of all[0] ?? []) {
    if (!col.startsWith('input:') || !TYPED.has(type)) continue;
    if (all.every((s) => s.get(col) === type)) out.set(col.slice('input:'.length), type);
  }
  return out;
}

function valuesOf(v: DuckDBVector, n: number): unknown[] {
  const out: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = v.getItem(i) ?? undefined;
  return out;
}

export interface SealedScan {
  /** Local Parquet files of sealed segments whose rows may interleave in time (one sorted read). */
  files: string[];
  where: SealedScanWhere;
  /** The features to read; undefined: every feature the rows hold. */
  features: readonly string[] | undefined;
  /** Read the ids too (another source of the scan may hold rows at the same times). */
  withIds: boolean;
  /** The labels that may belong to these rows (by prediction id). */
  labels: readonly RowLabel[];
}

/** The rows of sealed segments matching `where`, oldest first by (served_at, id), in DuckDB's chunks. */
export async function* readSealedColumns(q: SealedScan): AsyncIterable<KeyedColumns> {
  // Failed predictions never match a monitoring scan.
  const conds = parquetConditions({ ...q.where, failed: 'exclude' });
  if (q.files.length === 0 || !conds) return;
  const c = await openConnection();
  try {
    const typed = await typedFeatures(c, q.files);
    let fromJson: boolean;
    let wanted: string[];
    if (q.features) {
      wanted = [...q.features];
      fromJson = wanted.some((f) => !typed.has(f));
    } else {
      wanted = [...typed.keys()];
      fromJson = (await mostKeysOf(c, q.files)) > typed.size;
    }
    // Features read from their typed column; with `fromJson` and no feature list, all come from the JSON.
    const columns = q.features || !fromJson ? wanted.filter((f) => typed.has(f)) : [];
    // The files by their typed columns, each group's rows with their own (those of a row sealed
    // without its text are read only to rebuild it, with `fromJson`).
    const groups = await inputGroups(c, q.files);
    const src = `(${groupedRows(
      groups,
      conds,
      [...PREDICTION_COLUMNS, ...columns.map(inputColumnName)].map(ident),
      fromJson,
    )})`;

    await c.run(
      `CREATE TEMP TABLE answers AS SELECT *, (row_number() OVER () - 1)::INTEGER AS code FROM (SELECT DISTINCT model_version_id, model, version, role, outputs, shadow_version_id, shadow_outputs FROM ${src})`,
    );
    const answers: PredictionAnswer[] = [];
    for (const r of (await c.runAndReadAll('SELECT * FROM answers')).getRowObjectsJS())
      answers[Number(r.code)] = answerOf(r as unknown as Parameters<typeof answerOf>[0]);
    let labelJoin = '';
    if (q.labels.length > 0) {
      await c.run('CREATE TEMP TABLE labels (id VARCHAR, code INTEGER)');
      for (let i = 0; i < q.labels.length; i += 1000) {
        const values = q.labels
          .slice(i, i + 1000)
          .map((l, k) => `(${lit(l.predictionId)}, ${i + k})`)
          .join(', ');
        await c.run(`INSERT INTO labels VALUES ${values}`);
      }
      labelJoin = ' LEFT JOIN labels l ON l.id = s.id';
    }
    const select = [
      's.served_at::DOUBLE',
      'a.code',
      labelJoin ? 'coalesce(l.code, -1)::INTEGER' : '-1::INTEGER',
      q.withIds ? 's.id' : 'NULL::VARCHAR',
      fromJson ? 's.inputs' : 'NULL::VARCHAR',
      ...columns.map((f) => `s.${ident(inputColumnName(f))}`),
      ...(fromJson ? [GROUP_COLUMN, ...heldColumns(groups)].map((col) => `s.${ident(col)}`) : []),
    ];
    const sql =
      `SELECT ${select.join(', ')} FROM ${src} s JOIN answers a ON s.model_version_id = a.model_version_id` +
      ' AND s.model = a.model AND s.version = a.version AND s.role = a.role' +
      ' AND s.outputs IS NOT DISTINCT FROM a.outputs' +
      ' AND s.shadow_version_id IS NOT DISTINCT FROM a.shadow_version_id' +
      ` AND s.shadow_outputs IS NOT DISTINCT FROM a.shadow_outputs${labelJoin} ORDER BY s.served_at, s.id`;
    const result = await c.stream(sql);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) return;
      const n = chunk.rowCount;
      const codes = numbersOf(chunk.getColumnVector(1), n);
      const labelCodes = numbersOf(chunk.getColumnVector(2), n);
      const rowAnswers: PredictionAnswer[] = new Array(n);
      const rowLabels: (RowLabel | undefined)[] = new Array(n);
      for (let i = 0; i < n; i++) {
        rowAnswers[i] = answers[codes[i] as number] as PredictionAnswer;
        const l = labelCodes[i] as number;
        rowLabels[i] = l < 0 ? undefined : q.labels[l];
      }
      const inputs = new Map<string, Float64Array | unknown[]>();
      if (fromJson) {
        const parsed = inputsTexts(chunk, groups, 4, 5 + columns.length).map((t) => JSON.parse(t) as unknown);
        const names = q.features ? wanted.filter((f) => !typed.has(f)) : undefined;
        for (let i = 0; i < n; i++) {
          const row = parsed[i];
          if (row === null || typeof row !== 'object') continue;
          for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
            if (names && !names.includes(k)) continue;
            let col = inputs.get(k) as unknown[] | undefined;
            if (!col) {
              col = new Array(n).fill(undefined);
              inputs.set(k, col);
            }
            col[i] = v;
          }
        }
        for (const f of names ?? []) if (!inputs.has(f)) inputs.set(f, new Array(n).fill(undefined));
      }
      columns.forEach((f, k) => {
        const v = chunk.getColumnVector(5 + k);
        inputs.set(f, typed.get(f) === 'DOUBLE' ? numbersOf(v, n) : valuesOf(v, n));
      });
      // The page's features in the order asked for (or the files' column order).
      const ordered = new Map(
        [...(q.features ?? [...columns, ...inputs.keys()])]
          .filter((f, i, all) => all.indexOf(f) === i && inputs.has(f))
          .map((f) => [f, inputs.get(f) as Float64Array | unknown[]]),
      );
      yield {
        length: n,
        servedAt: numbersOf(chunk.getColumnVector(0), n),
        answers: rowAnswers,
        labels: rowLabels,
        inputs: ordered,
        ids: q.withIds ? (valuesOf(chunk.getColumnVector(3), n) as string[]) : undefined,
      };
    }
  } finally {
    c.closeSync();
  }
}
