import { open } from 'node:fs/promises';

/*
 * How a CSV file is read: its delimiter, found from the header line, and the cell texts that mean
 * "no value". A semicolon-separated file (common where the decimal mark is a comma) read as
 * comma-separated would become one text column named after the whole header; a single "n/a" would turn
 * a numeric column into text. Every reader of a table (profile, training, quality suites) asks here, so
 * the same file is always read the same way.
 */

/** Delimiters recognised in a header line, the usual one first (it wins ties). */
const DELIMITERS = [',', ';', '\t', '|'] as const;

/**
 * Cell texts read as null by default (pandas' defaults, which users of data tools expect), quoted or
 * not. A version added with its own list (`data add --null-values`) records it in each table's schema,
 * and every reader of that version reads with it (nullTokensOf).
 */
export const NULL_TOKENS = [
  '',
  'NA',
  'N/A',
  'n/a',
  'na',
  'NaN',
  'nan',
  '-NaN',
  '-nan',
  'NULL',
  'null',
  'Null',
  'None',
  'none',
  '#N/A',
  '#NA',
  '<NA>',
] as const;

/**
 * The cell texts a reader treats as null: a version's own list (an empty cell is always null too), or
 * the default list when the version records none.
 */
export function nullTokensOf(custom: readonly string[] | undefined): readonly string[] {
  return custom ? [...new Set(['', ...custom])] : NULL_TOKENS;
}

/** The delimiter of a CSV file: the candidate that splits its header line into the most fields. */
export async function sniffDelimiter(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return delimiterOf(headerLine(buf.subarray(0, bytesRead).toString('utf8')));
  } finally {
    await handle.close();
  }
}

/** The first line, where a newline inside double quotes does not end it. */
function headerLine(text: string): string {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) return text.slice(0, i);
  }
  return text;
}

function delimiterOf(line: string): string {
  let best: string = DELIMITERS[0];
  let bestCount = 0;
  for (const d of DELIMITERS) {
    let count = 0;
    let quoted = false;
    for (const ch of line) {
      if (ch === '"') quoted = !quoted;
      else if (!quoted && ch === d) count++;
    }
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

/** A delimiter as people write it in a message. */
export function delimiterName(d: string): string {
  return d === '\t' ? 'tab' : `'${d}'`;
}
