import { createReadStream } from 'node:fs';

export interface CsvProblem {
  line: number;
  reason: string;
}

/**
 * Scans the head of a CSV file (RFC 4180: comma, double quotes) for the first line whose field count
 * differs from the header's, or a quote left open. Used only when DuckDB's sniffer rejects a file
 * without saying where, which happens within its sample, so the scan stops after `maxLines`.
 */
export async function locateCsvProblem(path: string, maxLines = 25_000): Promise<CsvProblem | undefined> {
  let line = 1;
  let recordStart = 1;
  let fields = 1;
  let inQuotes = false;
  let afterQuote = false;
  let expected: number | undefined;
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      for (let i = 0; i < chunk.length; i++) {
        const ch = chunk[i];
        if (inQuotes) {
          if (ch === '"') {
            inQuotes = false;
            afterQuote = true;
          } else if (ch === '\n') line++;
          continue;
        }
        if (ch === '"') {
          // A doubled quote inside a quoted field re-enters it.
          inQuotes = true;
          afterQuote = false;
        } else if (ch === ',') {
          fields++;
          afterQuote = false;
        } else if (ch === '\n') {
          if (expected === undefined) expected = fields;
          else if (fields !== expected && !(fields === 1 && isBlank(chunk, i))) {
            return { line: recordStart, reason: `Expected Number of Columns: ${expected} Found: ${fields}` };
          }
          line++;
          recordStart = line;
          fields = 1;
          afterQuote = false;
          if (line > maxLines) return undefined;
        } else if (afterQuote && ch !== '\r') {
          return { line, reason: 'text after a closing quote' };
        }
      }
    }
  } finally {
    stream.destroy();
  }
  if (inQuotes) return { line: recordStart, reason: 'Value with unterminated quote found.' };
  if (expected !== undefined && fields !== expected && fields !== 1) {
    return { line: recordStart, reason: `Expected Number of Columns: ${expected} Found: ${fields}` };
  }
  return undefined;
}

function isBlank(chunk: string, newlineAt: number): boolean {
  const prev = chunk[newlineAt - 1];
  return prev === '\n' || prev === undefined || prev === '\r';
}
