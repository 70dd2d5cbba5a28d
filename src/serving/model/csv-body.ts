import { ValidationError } from '../../core/errors.js';

/*
 * A `text/csv` scoring body, as MLflow's scoring server takes it: the first line names the columns,
 * each further line is one record. Cells stay text here; the record checker turns them into the
 * types the model's features need (it knows that '12' is a number for one feature and a category
 * for another). Quoting follows RFC 4180: a quoted cell may hold commas, line breaks and "" for ".
 */

/** A parsed CSV body: the header row and the data rows, every cell as text. */
export class CsvBody {
  constructor(
    readonly header: string[],
    readonly rows: string[][],
  ) {}
}

/** Parses CSV text into a CsvBody; a body with no header, or a row of the wrong width, is a ValidationError naming the line. */
export function readCsvBody(text: string): CsvBody {
  const lines = splitRecords(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const header = lines[0];
  if (header === undefined || (header.length === 1 && header[0]!.trim() === '')) {
    throw new ValidationError(
      'csv: the body is empty; send a header row naming the features, then one row per record',
      {
        field: 'csv',
      },
    );
  }
  const names = header.map((h) => h.trim());
  const rows = lines.slice(1);
  for (const [i, row] of rows.entries()) {
    if (row.length !== names.length) {
      throw new ValidationError(`csv line ${i + 2} has ${row.length} cells; the header has ${names.length}`, {
        field: `csv[${i}]`,
      });
    }
  }
  return new CsvBody(names, rows);
}

/** Splits text into records of cells. A blank line (e.g. the trailing newline) is no record. */
function splitRecords(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let touched = false;
  const endRow = () => {
    if (touched || row.length > 0 || cell !== '') {
      row.push(cell);
      out.push(row);
    }
    row = [];
    cell = '';
    touched = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (text[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (ch === '"') {
      quoted = true;
      touched = true;
    } else if (ch === ',') {
      row.push(cell);
      cell = '';
      touched = true;
    } else if (ch === '\n') endRow();
    else if (ch !== '\r') cell += ch;
  }
  if (quoted) throw new ValidationError('csv: a quoted cell is not closed', { field: 'csv' });
  endRow();
  return out;
}
