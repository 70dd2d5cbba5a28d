import { createReadStream } from 'node:fs';

/*
 * Where given cell values sit in a CSV file, by line. DuckDB reads the file in parallel and keeps no
 * line numbers, so when the profiler has found the few cells that made a mostly-numeric column text,
 * one streaming pass here names their lines. The pass stops as soon as every value has its lines
 * (or at `maxBytes`), so on a large file it reads only as far as the last first occurrence.
 */

/** A wanted cell: the column's position in the header and the cell's text (unquoted). */
export interface WantedCell {
  column: number;
  value: string;
}

/**
 * The first `perValue` line numbers (1 = the header line; a record over several lines counts from its
 * first) of each wanted cell, keyed `${column}\u0000${value}`. A value not seen gets no entry.
 */
export async function locateCells(
  path: string,
  delimiter: string,
  wanted: WantedCell[],
  opts: { perValue?: number; maxBytes?: number } = {},
): Promise<Map<string, number[]>> {
  const perValue = opts.perValue ?? 3;
  const maxBytes = opts.maxBytes ?? 1 << 30;
  const keys = new Set(wanted.map((w) => cellKey(w.column, w.value)));
  const columns = new Set(wanted.map((w) => w.column));
  const found = new Map<string, number[]>();
  let complete = 0;
  let line = 1;
  let recordStart = 1;
  let field = 0;
  let cell = '';
  let inQuotes = false;
  let afterQuote = false;
  let bytes = 0;
  const endCell = () => {
    if (recordStart > 1 && columns.has(field)) {
      const key = cellKey(field, cell);
      if (keys.has(key)) {
        const lines = found.get(key) ?? [];
        if (lines.length < perValue) {
          lines.push(recordStart);
          found.set(key, lines);
          if (lines.length === perValue) complete++;
        }
      }
    }
    cell = '';
  };
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      for (let i = 0; i < chunk.length; i++) {
        const ch = chunk[i] as string;
        if (inQuotes) {
          if (ch === '"') {
            inQuotes = false;
            afterQuote = true;
          } else {
            if (ch === '\n') line++;
            cell += ch;
          }
          continue;
        }
        if (ch === '"') {
          // A doubled quote inside a quoted cell is one quote; a quote opens a cell only at its start.
          if (afterQuote) {
            cell += '"';
            inQuotes = true;
            afterQuote = false;
          } else if (cell === '') inQuotes = true;
          else cell += ch;
        } else if (ch === delimiter) {
          endCell();
          field++;
          afterQuote = false;
        } else if (ch === '\n') {
          endCell();
          line++;
          recordStart = line;
          field = 0;
          afterQuote = false;
        } else if (ch !== '\r') cell += ch;
      }
      bytes += chunk.length;
      if (complete === keys.size || bytes >= maxBytes) break;
    }
    if (cell !== '' || field > 0) endCell();
  } finally {
    stream.destroy();
  }
  return found;
}

/** The key of a wanted cell in locateCells' answer. */
export function cellKey(column: number, value: string): string {
  return `${column}\u0000${value}`;
}
