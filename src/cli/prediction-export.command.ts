import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import { formatBytes } from '../data/index.js';
import { type PredictionExportFormat, predictionExportFormatSchema } from '../serving/index.js';
import type { CliContext } from './context.js';
import { formatNumber, type Output } from './output.js';
import { progressLine } from './progress.js';

/*
 * `sextant predictions export <deployment>`: the prediction log of one deployment over a window, as
 * CSV, JSON lines or Parquet, labels joined, streamed to a file (written under a temporary name and
 * renamed when complete, so a failed export never leaves a partial file behind) or to stdout.
 *
 * An empty window exits 0 with an empty export (CSV: the header line; Parquet: the schema) and says
 * so on stderr: a scheduled export of a quiet hour is not a failure, and the next step still finds
 * its file.
 */

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--from 2h` (ago) or an ISO time as given (the API checks it and names the field). */
export function timeOf(value: string | undefined, now: number): string | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,9})([smhd])$/.exec(value.trim());
  return m ? new Date(now - Number(m[1]) * (UNIT_MS[m[2]!] ?? 0)).toISOString() : value;
}

function formatOf(value: string): PredictionExportFormat {
  const parsed = predictionExportFormatSchema.safeParse(value);
  if (!parsed.success)
    throw new ValidationError(`--format: expected csv, jsonl or parquet, got '${value}'`, {
      field: '--format',
    });
  return parsed.data;
}

/** Text chunks to Output.out a line at a time (a chunk may end mid-line when it comes off the network). */
function lineWriter(output: Output): Writable {
  let rest = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const text = rest + chunk.toString();
      const end = text.lastIndexOf('\n');
      if (end >= 0) output.out(text.slice(0, end + 1));
      rest = text.slice(end + 1);
      done();
    },
    final(done) {
      if (rest !== '') output.out(rest);
      done();
    },
  });
}

/**
 * Passes chunks on to `dest` (ending it when ended), telling `seen` of each: the progress line counts
 * rows and bytes as they stream.
 */
function counted(dest: Writable, seen: (chunk: Buffer) => void): Writable {
  const tap: Writable = new Writable({
    write(chunk: Buffer, _enc, done) {
      seen(chunk);
      if (dest.write(chunk)) done();
      else dest.once('drain', () => done());
    },
    final(done) {
      dest.end(() => done());
    },
  });
  dest.once('error', (err) => tap.destroy(err));
  return tap;
}

/** Counts a text export's lines (its rows; a CSV's header is not one) and the bytes written. */
function exportProgress(c: CliContext, format: PredictionExportFormat) {
  const bar = progressLine(c);
  let bytes = 0;
  let lines = format === 'csv' ? -1 : 0;
  return {
    bar,
    seen: (chunk: Buffer) => {
      bytes += chunk.length;
      if (format !== 'parquet') for (const b of chunk) if (b === 10) lines++;
      const rows = format === 'parquet' ? '' : `${formatNumber(Math.max(0, lines))} rows  `;
      bar.tally('exporting', `${rows}${formatBytes(bytes)}`);
    },
  };
}

function finish(w: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.end(() => resolve());
  });
}

/** Adds `export` to the `predictions` command group. */
export function registerPredictionExportCommand(predictions: Command, ctx: () => CliContext): void {
  predictions
    .command('export <deployment>')
    .description(
      "write a deployment's logged predictions (inputs, answer, label when known) as csv, jsonl or parquet",
    )
    .option('--from <time>', 'served at or after: an ISO time or an age like 7d (default: the first)')
    .option('--to <time>', 'served before: an ISO time or an age like 1h (default: now)')
    .option('--format <format>', 'csv, jsonl or parquet', 'csv')
    .option('--out <file>', 'write here (default: stdout; parquet needs a file)')
    .action(async (deployment: string, o: { from?: string; to?: string; format: string; out?: string }) => {
      const c = ctx();
      const format = formatOf(o.format);
      if (format === 'parquet' && o.out === undefined)
        throw new ValidationError('--out: parquet is binary; give a file to write it to', { field: '--out' });
      const now = Date.now();
      const q = {
        format,
        ...(o.from !== undefined ? { from: timeOf(o.from, now) } : {}),
        ...(o.to !== undefined ? { to: timeOf(o.to, now) } : {}),
      };
      const api = (await c.api()).serving;
      const progress = exportProgress(c, format);
      let summary: { count: number; window: string };
      try {
        if (o.out === undefined) {
          const out = counted(lineWriter(c.output), progress.seen);
          summary = await api.predictions.export(deployment, q, out);
          await finish(out);
        } else {
          const partial = `${o.out}.partial-${process.pid}`;
          const file = createWriteStream(partial);
          const out = counted(file, progress.seen);
          try {
            summary = await api.predictions.export(deployment, q, out);
            await finish(out);
            await rename(partial, o.out);
          } catch (err) {
            file.destroy();
            await rm(partial, { force: true });
            throw err;
          }
        }
      } finally {
        progress.bar.end();
      }
      const what = `${summary.count} prediction${summary.count === 1 ? '' : 's'} of ${deployment} (${summary.window})`;
      if (summary.count === 0) {
        c.output.err(
          `no predictions of ${deployment} ${summary.window}: the export is empty${format === 'jsonl' ? '' : ` (${format === 'csv' ? 'header only' : 'schema only'})`}`,
        );
      } else {
        c.output.err(`exported ${what}${o.out !== undefined ? ` to ${o.out}` : ''}`);
      }
    });
}
