import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import type { GcReport } from '../governance/gc.schema.js';
import { formatLineage, type LineageFormat } from '../governance/index.js';
import type { CliContext } from './context.js';
import { table } from './output.js';
import { progressLine } from './progress.js';

type Ctx = () => CliContext;

const FORMATS: LineageFormat[] = ['text', 'mermaid', 'dot'];
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `30m`, `1h`, `7d` -> seconds. */
function parseGrace(text: string): number {
  const m = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!m)
    throw new ValidationError(`--grace: expected a duration like 0, 90s, 30m, 1h or 7d, got '${text}'`, {
      field: '--grace',
    });
  return Number(m[1]) * (UNIT_SECONDS[m[2] || 's'] ?? 1);
}

/** 1536 -> "1.5 KiB". */
function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

function formatDuration(seconds: number): string {
  for (const [unit, s] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const)
    if (seconds >= s && seconds % s === 0) return `${seconds / s}${unit}`;
  return `${seconds}s`;
}

function gcSummary(r: GcReport, list: boolean): string {
  const lines: string[] = [];
  const scanned = `${r.scanned.count} blobs, ${formatBytes(r.scanned.bytes)} scanned`;
  if (r.dryRun) {
    lines.push(
      `dry run: ${r.unreferenced.count} unreferenced blobs, ${formatBytes(r.unreferenced.bytes)} would be deleted (${scanned})`,
    );
  } else {
    lines.push(`deleted ${r.deleted.count} blobs, ${formatBytes(r.deleted.bytes)} (${scanned})`);
    if (r.auditEntryId) lines.push(`audit entry ${r.auditEntryId}, digest ${r.digest}`);
    if (r.rescued.count) lines.push(`${r.rescued.count} became referenced during gc and were kept`);
  }
  if (r.young.count)
    lines.push(
      `${r.young.count} unreferenced blobs (${formatBytes(r.young.bytes)}) are younger than ${formatDuration(r.graceSeconds)} and were kept`,
    );
  if (list && r.unreferenced.blobs.length)
    lines.push(
      table(
        ['SHA256', 'SIZE', 'MODIFIED'],
        r.unreferenced.blobs.map((b) => [b.sha256, b.size, b.modifiedAt]),
      ),
    );
  if (r.dryRun && r.unreferenced.count) lines.push('run `sextant gc --delete` to remove them');
  return lines.join('\n');
}

/** `sextant lineage <ref>`, `sextant lineage export --run <id>` and `sextant gc`. */
export function registerLineageCommands(program: Command, ctx: Ctx): void {
  const lineage = program
    .command('lineage')
    .argument(
      '<ref>',
      'dataset@version, run id or model@version (prefix dataset:, run: or model: if ambiguous)',
    )
    .option('--upstream', 'only what it came from')
    .option('--downstream', 'only what came of it')
    .option('--both', 'both ways (the default)')
    .option('--depth <n>', 'hops to follow each way', '10')
    .option('--format <format>', 'text, mermaid or dot', 'text')
    .action(
      async (
        ref: string,
        o: { upstream?: boolean; downstream?: boolean; both?: boolean; depth: string; format: string },
      ) => {
        const c = ctx();
        if (!FORMATS.includes(o.format as LineageFormat))
          throw new ValidationError(`--format: expected text, mermaid or dot, got '${o.format}'`, {
            field: '--format',
          });
        if (!/^\d{1,3}$/.test(o.depth) || Number(o.depth) < 1 || Number(o.depth) > 100)
          throw new ValidationError(`--depth: expected a whole number from 1 to 100, got '${o.depth}'`, {
            field: '--depth',
          });
        const direction =
          o.both || o.upstream === o.downstream ? 'both' : o.upstream ? 'upstream' : 'downstream';
        const graph = await (await c.api()).lineage.graph({ ref, direction, depth: Number(o.depth) });
        c.output.out(
          c.json ? JSON.stringify(graph, null, 2) : formatLineage(graph, o.format as LineageFormat),
        );
      },
    );
  lineage
    .command('export')
    .description('a run with its inputs and outputs as OpenLineage RunEvents (JSON)')
    .requiredOption('--run <run-id>', 'the run to export')
    .option('--out <file>', 'write the events here instead of stdout')
    .option('--namespace <ns>', 'OpenLineage namespace of the job and of Sextant datasets', 'sextant')
    .option('--ndjson', 'one event per line (to POST each to a lineage server)')
    .action(async (o: { run: string; out?: string; namespace: string; ndjson?: boolean }) => {
      const c = ctx();
      const exported = await (await c.api()).lineage.exportOpenLineage(o.run, { namespace: o.namespace });
      const text = o.ndjson
        ? exported.events.map((e) => JSON.stringify(e)).join('\n')
        : JSON.stringify(exported.events, null, 2);
      if (!o.out) return c.output.out(text);
      await writeFile(o.out, `${text}\n`);
      c.output.out(
        c.json
          ? JSON.stringify({ runId: exported.runId, out: o.out, events: exported.events.length })
          : `wrote ${exported.events.length} OpenLineage events of ${exported.runId} to ${o.out}`,
      );
    });

  program
    .command('gc')
    .option('--delete', 'delete them (audited); without it, only report')
    .option(
      '--grace <duration>',
      'keep blobs younger than this (uploads whose version is not committed yet)',
      '1h',
    )
    .option('--list', 'list the unreferenced blobs')
    .action(async (o: { delete?: boolean; grace: string; list?: boolean }) => {
      const c = ctx();
      const api = await c.api();
      const progress = progressLine(c);
      progress.step(
        o.delete ? 'collecting' : 'scanning',
        'blobs no dataset, run or model version references',
      );
      const report = await api.lineage
        .gc({ delete: Boolean(o.delete), graceSeconds: parseGrace(o.grace) })
        .finally(() => progress.end());
      c.output.out(c.json ? JSON.stringify(report, null, 2) : gcSummary(report, Boolean(o.list)));
    });
}
