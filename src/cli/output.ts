/** Where command output goes; tests capture it, the binary writes to stdout/stderr. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal that takes colour (never when piped, or with NO_COLOR set). */
  color?: boolean;
  /** Whether stderr is a terminal: progress lines are drawn only there. */
  interactive?: boolean;
  /** Draws a progress line in place on stderr; null ends it. */
  progress?(line: string | null): void;
  /** How long work runs before its progress shows (default 1000 ms; tests use 0). */
  progressAfterMs?: number;
}

/** stdout and stderr of this process; colour and progress only on a terminal. */
export function processOutput(env: Record<string, string | undefined>): Output {
  const noColor = (env.NO_COLOR ?? '') !== '' || env.TERM === 'dumb';
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    color:
      (env.FORCE_COLOR ?? '') !== '' ? env.FORCE_COLOR !== '0' : Boolean(process.stdout.isTTY) && !noColor,
    interactive: Boolean(process.stderr.isTTY),
    progress: (line) => process.stderr.write(line === null ? '\n' : `\r${line}\x1b[K`),
  };
}

const ESC = String.fromCharCode(27);
/** SGR colour sequences, e.g. ESC[31m ... ESC[0m. */
const ANSI = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');
const GOOD = new Set(['pass', 'passed', 'ok', 'executed', 'delivered', 'finished', 'running']);
const BAD = new Set(['fail', 'failed', 'drift', 'dataset drift', 'blocked', 'broken', 'rejected', 'stopped']);

/**
 * Colours status words on a terminal (green PASS/OK, red FAIL/DRIFT/BLOCKED, yellow the rest, e.g.
 * NO_DATA or pending) and returns them unchanged otherwise.
 */
export function painter(output: Output): (word: string) => string {
  if (!output.color) return (word) => word;
  return (word) => {
    const key = word
      .toLowerCase()
      .replace(/[:(].*$/, '')
      .trim();
    const code = GOOD.has(key) ? 32 : BAD.has(key) ? 31 : 33;
    return `${ESC}[${code}m${word}${ESC}[0m`;
  };
}

/** Length as seen on screen: colour codes take no room. */
const visibleLength = (s: string) => s.replace(ANSI, '').length;
const pad = (s: string, width: number) => s + ' '.repeat(Math.max(0, width - visibleLength(s)));

/** Cuts a cell into pieces of at most `width` characters, at a space or comma when one is near. */
function wrapCell(text: string, width: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const cut = Math.max(rest.lastIndexOf(' ', width), rest.lastIndexOf(',', width - 1) + 1);
    const at = cut > width / 2 ? cut : width;
    pieces.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  pieces.push(rest);
  return pieces;
}

/**
 * A plain-text table: a header row, then rows, columns padded to their widest cell. With `wrap`, a
 * cell wider than that continues on the following lines of its row instead of widening the table.
 */
export function table(
  headers: string[],
  rows: (string | number | null | undefined)[][],
  opts: { wrap?: number } = {},
): string {
  const text = rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const cells = opts.wrap === undefined ? text : text.flatMap((r) => wrapRow(r, opts.wrap!));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => visibleLength(r[i] ?? ''))));
  const line = (r: string[]) =>
    r
      .map((c, i) => pad(c, widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function wrapRow(row: string[], width: number): string[][] {
  const pieces = row.map((c) => (visibleLength(c) > width ? wrapCell(c, width) : [c]));
  const height = Math.max(1, ...pieces.map((p) => p.length));
  return Array.from({ length: height }, (_, i) => pieces.map((p) => p[i] ?? ''));
}

/** Key/value lines for one object, aligned. */
export function details(pairs: [string, string | number | boolean | null | undefined][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs
    .map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === undefined ? '-' : String(v)}`)
    .join('\n');
}

/** A metric value for people: up to 6 significant digits. */
export function formatNumber(v: number | string): string {
  if (typeof v === 'string') return v;
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString();
}

/** Parses repeated `k=v` options into a record; a missing '=' is a usage error naming the option. */
export function parsePairs(pairs: string[] | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) {
      throw Object.assign(new Error(`${option}: expected key=value but got '${p}'`), {
        code: 'VALIDATION_FAILED',
        details: { field: option },
      });
    }
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}
