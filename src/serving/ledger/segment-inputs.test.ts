import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { newId } from '../../core/ids.js';
import { lit, withConnection } from '../../data/index.js';
import { makeRecord } from './ledger-fixtures.contract.js';
import { type PackedEntry, packBatch, packRecord, type StoredEntry } from './prediction-row.js';
import { readSealedColumns } from './segment-columns.js';
import { encodeFrame, encodeLegacyFrame, LEGACY_SEGMENT_MAGIC, SEGMENT_MAGIC } from './segment-file.js';
import { heldColumns, inputGroups } from './segment-inputs.js';
import { readParquetRows, rowsOfGroups } from './segment-parquet.js';
import { buildSealedSegment } from './segment-seal-parquet.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'sextant-seal-inputs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const t0 = Date.UTC(2026, 6, 1);

/** One request's records as an entry (columnar where a record has the first one's keys in order). */
function entry(dep: string, inputs: Record<string, unknown>[], servedAt: number): PackedEntry {
  const r = makeRecord({ deploymentId: dep, servedAt });
  return packBatch({
    ...r,
    ids: inputs.map(() => newId('pred', servedAt)),
    inputs,
    outputs: inputs.map(() => r.outputs),
    shadow: null,
  });
}

/** Seals the entries (one frame each, or SXPLOG01 frames of legacy entries) and returns the Parquet file. */
async function seal(entries: StoredEntry[], legacy = false): Promise<string> {
  const dir = mkdtempSync(path.join(root, 'seg-'));
  const file = path.join(dir, 'seg');
  const frames = entries.map((e) =>
    legacy ? encodeLegacyFrame([e as unknown[] as never]) : encodeFrame([e as PackedEntry]),
  );
  writeFileSync(file, Buffer.concat([legacy ? LEGACY_SEGMENT_MAGIC : SEGMENT_MAGIC, ...frames]));
  return (await buildSealedSegment(file, dir)).parquet as string;
}

/** The file's rows as stored, in file order: id, whether `inputs` is NULL, typed column names. */
async function stored(file: string) {
  return withConnection(async (c) => {
    const r = await c.runAndReadAll(
      `SELECT id, inputs IS NULL AS held FROM read_parquet(${lit(file)}, file_row_number = true) ORDER BY file_row_number`,
    );
    const cols = (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${lit(file)})`))
      .getRowObjectsJS()
      .map((d) => String(d.column_name))
      .filter((n) => n.startsWith('input:'));
    return { held: r.getRowObjectsJS().map((x) => x.held as boolean), cols };
  });
}

const byId = <T extends { id: string }>(rows: T[]) => [...rows].sort((a, b) => (a.id < b.id ? -1 : 1));

// Values whose JSON text is easy to get wrong: -0 (printed 0), the ends of the doubles, unicode and
// escapes, booleans.
const columnar = [
  { x: -0, big: 1e21, tiny: 5e-324, s: 'é😀\u2028"\\\n\u0000', b: true },
  { x: 0.1 + 0.2, big: -1.7976931348623157e308, tiny: 2 ** -1074 * 3, s: '', b: false },
  { x: 2 ** 53 + 2, big: 1e-7, tiny: 123456789012345680000, s: '\uffff\u{10ffff}', b: true },
];

it("a sealed file stores the inputs text only where the typed columns do not hold the row: every row reads back as the table mode's text", async () => {
  const dep = newId('dep');
  const entries: PackedEntry[] = [
    // Columnar records, then one with a key of its own (it travels as its own JSON text).
    entry(dep, [...columnar, { ...columnar[0], extra: [1, { y: null }] }], t0),
    // A request of one record: columnar, the same features.
    packRecord(makeRecord({ deploymentId: dep, servedAt: t0 + 1, inputs: { ...columnar[1] } })),
    // The same features in another order: columnar in its entry, but not the typed columns' order.
    entry(dep, [{ b: false, s: 'z', tiny: 1, big: 2, x: 3 }], t0 + 2),
  ];
  const file = await seal(entries);
  const { held, cols } = await stored(file);
  expect(cols).toEqual(['input:x', 'input:big', 'input:tiny', 'input:s', 'input:b']);
  expect(held).toEqual([true, true, true, false, true, false]);

  // Byte-identical to what the `predictions` table holds for the same entries (decoded with text).
  const table = rowsOfGroups([entries]);
  const read = await readParquetRows([file], {});
  expect(byId(read)).toEqual(byId(table));
  expect(read.map((r) => r.inputs)).toContain(JSON.stringify({ ...columnar[0], x: 0 }));
  // A lookup by id, and a page, rebuild the text too.
  const [one] = await readParquetRows([file], { id: table[1]?.id });
  expect(one?.inputs).toBe(JSON.stringify(columnar[1]));
  const page = await readParquetRows([file], { order: 'newest', limit: 2 });
  expect(page.map((r) => r.inputs)).toEqual([table[5]?.inputs, table[4]?.inputs]);

  // A monitoring scan: one row holds a feature with no typed column, so every row's features come
  // from its text, stored or rebuilt; each row as its inputs object says.
  const scanned = [];
  for await (const p of readSealedColumns({
    files: [file],
    where: {},
    features: undefined,
    withIds: true,
    labels: [],
  }))
    scanned.push(p);
  const features = scanned[0]?.inputs;
  expect([...(features?.keys() ?? [])]).toEqual(['x', 'big', 'tiny', 's', 'b', 'extra']);
  const objects = new Map(table.map((r) => [r.id, JSON.parse(r.inputs) as Record<string, unknown>]));
  scanned[0]?.ids?.forEach((id, i) => {
    for (const [k, col] of features ?? []) expect(col[i]).toEqual(objects.get(id)?.[k]);
  });
});

it('a scan of a file whose rows all store no text reads the typed columns alone', async () => {
  const file = await seal([entry(newId('dep'), columnar, t0)]);
  expect((await stored(file)).held).toEqual([true, true, true]);
  const pages = [];
  for await (const p of readSealedColumns({
    files: [file],
    where: {},
    features: undefined,
    withIds: false,
    labels: [],
  }))
    pages.push(p);
  // DOUBLE columns come as Float64Arrays: read from the typed columns, not parsed from any text.
  expect(pages[0]?.inputs.get('x')).toBeInstanceOf(Float64Array);
  expect([...(pages[0]?.inputs.get('tiny') ?? [])]).toEqual(columnar.map((r) => r.tiny));
  expect(pages[0]?.inputs.get('s')).toEqual(columnar.map((r) => r.s));
});

it('a file sealed before (text in every row) reads as it did, beside a new one whose typed column of the same name has another type', async () => {
  const dep = newId('dep');
  // The old format: a segment of legacy entries seals with its text in every row (no columnar record).
  const legacy = rowsOfGroups([
    [
      entry(
        dep,
        [
          { x: 'one', n: 1 },
          { x: 'two', n: -0 },
        ],
        t0,
      ),
    ],
  ]).map((r) => [
    1,
    r.deployment_id,
    r.model_version_id,
    r.model,
    r.version,
    r.alias,
    r.role,
    r.served_at,
    r.request_key,
    r.latency_us,
    r.shadow_version_id,
    null,
    r.error,
    r.id,
    r.inputs,
    r.outputs,
    r.shadow_outputs,
  ]);
  const oldFile = await seal(legacy as StoredEntry[], true);
  expect((await stored(oldFile)).held).toEqual([false, false]);
  const fresh = [entry(dep, columnar, t0 + 10)];
  const newFile = await seal(fresh);
  expect((await stored(newFile)).held).toEqual([true, true, true]);

  const table = [...rowsOfGroups([legacy as StoredEntry[]]), ...rowsOfGroups([fresh])];
  const both = await readParquetRows([oldFile, newFile], { order: 'oldest' });
  expect(both).toEqual(table);
  expect(both[1]?.inputs).toBe('{"x":"two","n":0}');
  const last = await readParquetRows([newFile, oldFile], { order: 'newest', limit: 4 });
  expect(last).toEqual(table.slice(1).reverse());

  // A monitoring scan of both: x is typed in each file but not with one type, so every feature is
  // read from each row's text, the new file's rebuilt from its typed columns.
  const pages = [];
  for await (const p of readSealedColumns({
    files: [oldFile, newFile],
    where: {},
    features: undefined,
    withIds: true,
    labels: [],
  }))
    pages.push(p);
  expect(pages).toHaveLength(1);
  const page = pages[0];
  expect(page?.ids).toEqual(table.map((r) => r.id));
  expect([...(page?.inputs.keys() ?? [])]).toEqual(['x', 'n', 'big', 'tiny', 's', 'b']);
  expect(page?.inputs.get('x')).toEqual(['one', 'two', 0, 0.1 + 0.2, 2 ** 53 + 2]);
  expect(page?.inputs.get('s')).toEqual([undefined, undefined, ...columnar.map((r) => r.s)]);
  // Asked for by name: big from its typed column where every file has it, x from the text.
  const asked = [];
  for await (const p of readSealedColumns({
    files: [newFile],
    where: {},
    features: ['tiny', 'x'],
    withIds: false,
    labels: [],
  }))
    asked.push(p);
  expect([...(asked[0]?.inputs.get('tiny') ?? [])]).toEqual(columnar.map((r) => r.tiny));
});

it('features whose column name cannot read back, and strings that lose a leading byte-order mark, keep the text', async () => {
  const dep = newId('dep');
  const entries = [
    // Names equal but for case: DuckDB's column names are not (the second stays untyped).
    entry(dep, [{ a: 1, A: 2 }], t0),
    entry(dep, [{ a: 3, A: 4 }], t0 + 1),
  ];
  const caseFile = await seal(entries);
  expect(await stored(caseFile)).toEqual({ held: [false, false], cols: ['input:a'] });
  expect(await readParquetRows([caseFile], { order: 'oldest' })).toEqual(rowsOfGroups([entries]));

  const bom = [entry(dep, [{ s: '\ufeffmarked', x: 1 }], t0), entry(dep, [{ s: 'plain', x: 2 }], t0 + 1)];
  const bomFile = await seal(bom);
  // s is untyped (a TextDecoder drops the mark on reading), so no row's inputs are its typed columns.
  expect(await stored(bomFile)).toEqual({ held: [false, false], cols: ['input:x'] });
  const rows = await readParquetRows([bomFile], { order: 'oldest' });
  expect(rows).toEqual(rowsOfGroups([bom]));
  expect(JSON.parse(rows[0]?.inputs as string).s).toBe('\ufeffmarked');
});

it('files with different typed columns share the held columns of a feature and type: a read is no wider than their union', async () => {
  const dep = newId('dep');
  const a = [
    entry(
      dep,
      [
        { x: 1, y: 2 },
        { x: -0, y: 1e21 },
      ],
      t0,
    ),
  ];
  const b = [
    entry(
      dep,
      [
        { x: 3, z: 'é' },
        { x: 4, z: '' },
      ],
      t0 + 5,
    ),
  ];
  const fileA = await seal(a);
  const fileB = await seal(b);
  expect((await stored(fileA)).held).toEqual([true, true]);
  expect((await stored(fileB)).held).toEqual([true, true]);
  const groups = await withConnection((c) => inputGroups(c, [fileA, fileB]));
  expect(groups.map((g) => g.features)).toEqual([
    ['x', 'y'],
    ['x', 'z'],
  ]);
  expect(heldColumns(groups)).toHaveLength(3);
  expect(groups[1]?.held[0]).toBe(groups[0]?.held[0]);
  const rows = await readParquetRows([fileA, fileB], { order: 'oldest' });
  expect(rows).toEqual([...rowsOfGroups([a]), ...rowsOfGroups([b])]);
  expect(rows.map((r) => r.inputs)).toEqual([
    '{"x":1,"y":2}',
    '{"x":0,"y":1e+21}',
    '{"x":3,"z":"é"}',
    '{"x":4,"z":""}',
  ]);
});
