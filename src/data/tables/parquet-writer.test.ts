import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { lit, withConnection } from './duckdb-engine.js';
import { type ParquetCell, type ParquetRowColumn, writeParquetRows } from './parquet-writer.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'sextant-parquet-writer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('rows are written in their order with every cell as given, nulls included, across data chunks', async () => {
  const columns: ParquetRowColumn[] = [
    { name: 'name', type: 'VARCHAR' },
    { name: 'n', type: 'INTEGER' },
    { name: 'at', type: 'BIGINT' },
    { name: 'x', type: 'DOUBLE' },
    { name: 'ok', type: 'BOOLEAN' },
  ];
  // More rows than one data chunk holds (2,048), and not a multiple of it.
  const rows = 5000;
  const cell = (r: number, k: number): ParquetCell => {
    if ((r + k) % 7 === 0) return null;
    switch (k) {
      case 0:
        return `row ${r} é\u{1F600}`;
      case 1:
        return r - 2500;
      case 2:
        return 1_780_000_000_000 + r;
      case 3:
        return r / 3;
      default:
        return r % 2 === 0;
    }
  };
  const file = path.join(root, 'rows.parquet');
  await writeParquetRows(file, columns, rows, cell, 1000);
  const read = await withConnection(async (c) =>
    (
      await c.runAndReadAll(
        `SELECT * EXCLUDE (file_row_number) FROM read_parquet(${lit(file)}, file_row_number = true) ORDER BY file_row_number`,
      )
    ).getRowsJS(),
  );
  expect(read).toHaveLength(rows);
  read.forEach((row, r) => {
    expect(row.map((v) => (typeof v === 'bigint' ? Number(v) : v))).toEqual(
      columns.map((_, k) => cell(r, k)),
    );
  });
});

it('an INTEGER cell with a fraction is refused (the write fails), never stored changed', async () => {
  const file = path.join(root, 'fraction.parquet');
  await expect(
    writeParquetRows(file, [{ name: 'n', type: 'INTEGER' }], 2, (r) => (r === 0 ? 12 : 12.7)),
  ).rejects.toThrow(/integer/);
});

it('a cell of the wrong JavaScript type is refused with the column named, never stored as NaN or 0', async () => {
  const cases: [ParquetRowColumn['type'], ParquetCell][] = [
    ['DOUBLE', '1.5'],
    ['DOUBLE', true],
    ['BOOLEAN', 1],
    ['BOOLEAN', 'true'],
    ['INTEGER', '12'],
    ['BIGINT', '12'],
    ['VARCHAR', 12],
  ];
  for (const [type, bad] of cases) {
    const file = path.join(root, `wrong-${type}.parquet`);
    const good: ParquetCell = type === 'BOOLEAN' ? false : type === 'VARCHAR' ? 'a' : 1;
    await expect(
      writeParquetRows(file, [{ name: 'c', type }], 3000, (r) => (r === 2500 ? bad : good)),
    ).rejects.toThrow(new RegExp(`row 2500's cell of column "c" \\(${type}\\) is a ${typeof bad}`));
  }
});

it('columns of one value in every row (selected as constants, not appended) read back as given, with their types', async () => {
  const columns: ParquetRowColumn[] = [
    { name: 'id', type: 'VARCHAR' },
    { name: 'quoted', type: 'VARCHAR' },
    { name: 'nul', type: 'VARCHAR' },
    { name: 'none', type: 'VARCHAR' },
    { name: 'n', type: 'INTEGER' },
    { name: 'at', type: 'BIGINT' },
    { name: 'x', type: 'DOUBLE' },
    { name: 'ok', type: 'BOOLEAN' },
    { name: 'no_n', type: 'INTEGER' },
  ];
  const constant: ParquetCell[] = [
    null,
    `it's "a" \\ é\u{1F600}`,
    'a\u0000b',
    null,
    -7,
    1_780_000_000_000,
    0.1,
    true,
    null,
  ];
  const rows = 3000;
  const cell = (r: number, k: number): ParquetCell => (k === 0 ? `row ${r}` : (constant[k] as ParquetCell));
  const file = path.join(root, 'constants.parquet');
  await writeParquetRows(file, columns, rows, cell, 1000);
  const [read, types] = await withConnection(async (c) => [
    (
      await c.runAndReadAll(
        `SELECT * EXCLUDE (file_row_number) FROM read_parquet(${lit(file)}, file_row_number = true) ORDER BY file_row_number`,
      )
    ).getRowsJS(),
    (await c.runAndReadAll(`SELECT column_type FROM (DESCRIBE SELECT * FROM read_parquet(${lit(file)}))`))
      .getRowsJS()
      .map((row) => row[0]),
  ]);
  expect(types).toEqual(columns.map((c) => c.type));
  expect(read).toHaveLength(rows);
  read.forEach((row, r) => {
    expect(row.map((v) => (typeof v === 'bigint' ? Number(v) : v))).toEqual(
      columns.map((_, k) => cell(r, k)),
    );
  });

  // Every column constant: the rows are still there.
  const all = path.join(root, 'all-constant.parquet');
  await writeParquetRows(
    all,
    [
      { name: 'a', type: 'VARCHAR' },
      { name: 'b', type: 'INTEGER' },
    ],
    5,
    (_, k) => (k === 0 ? 'x' : 3),
  );
  const back = await withConnection(async (c) =>
    (await c.runAndReadAll(`SELECT * FROM read_parquet(${lit(all)})`)).getRowsJS(),
  );
  expect(back).toEqual(Array.from({ length: 5 }, () => ['x', 3]));
});

it('DOUBLE columns filled in bulk give the same file as cell by cell, and a chunk the filler declines goes cell by cell', async () => {
  const columns: ParquetRowColumn[] = [
    { name: 'id', type: 'VARCHAR' },
    { name: 'x', type: 'DOUBLE' },
    { name: 'y', type: 'DOUBLE' },
  ];
  const rows = 5000;
  const xs = Float64Array.from({ length: rows }, (_, r) => Math.sin(r) * 1e6);
  const ys = Float64Array.from({ length: rows }, (_, r) => r / 7);
  const cell = (r: number, k: number): ParquetCell => (k === 0 ? `r${r}` : k === 1 ? xs[r]! : ys[r]!);
  const filled: number[] = [];
  const declined: number[] = [];
  // x in bulk everywhere; y in bulk except the second chunk (rows 2,048-4,095), declined there.
  const fill = (k: number, from: number, n: number, out: Float64Array): boolean => {
    if (k === 2 && from === 2048) {
      declined.push(from);
      return false;
    }
    out.set((k === 1 ? xs : ys).subarray(from, from + n));
    filled.push(k);
    return true;
  };
  const bulk = path.join(root, 'bulk.parquet');
  const cellwise = path.join(root, 'cellwise.parquet');
  await writeParquetRows(bulk, columns, rows, cell, 1000, fill);
  await writeParquetRows(cellwise, columns, rows, cell, 1000);
  // Three chunks a column (2,048 + 2,048 + 904 rows): x filled thrice, y twice and declined once.
  expect(filled.filter((k) => k === 1)).toHaveLength(3);
  expect(filled.filter((k) => k === 2)).toHaveLength(2);
  expect(declined).toEqual([2048]);
  expect(readFileSync(bulk).equals(readFileSync(cellwise))).toBe(true);
  const sums = await withConnection(async (c) =>
    (await c.runAndReadAll(`SELECT sum(x), sum(y), count(*) FROM read_parquet(${lit(bulk)})`)).getRowsJS(),
  );
  expect(sums[0]?.[2]).toBe(5000n);
  expect(sums[0]?.[1]).toBeCloseTo(
    ys.reduce((a, v) => a + v, 0),
    6,
  );
});
