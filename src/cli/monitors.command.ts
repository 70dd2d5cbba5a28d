import fs from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import type { MetricPoint, MonitorRunResult } from '../monitoring/index.js';
import type { CliContext } from './context.js';
import { details, formatNumber, table } from './output.js';
import { timeOf } from './prediction-export.command.js';
import { progressLine } from './progress.js';

type Ctx = () => CliContext;

function readSpec(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ValidationError(`-f: cannot read ${file}: ${(err as Error).message}`, { field: '-f' });
  }
}

const num = (v: unknown) => (typeof v === 'number' ? formatNumber(v) : '');

/** The threshold a point was judged by, as people read it (p < 0.05, >= 0.1). */
function thresholdOf(p: MetricPoint): string {
  const t = p.details.threshold;
  if (typeof t !== 'number') return '';
  return p.details.pValue !== undefined ? `p < ${formatNumber(t)}` : `>= ${formatNumber(t)}`;
}

/** One line per point that says something: drift, skew, quality, performance; whole-window ones first. */
function resultTable(r: MonitorRunResult): string {
  const rows = r.points.map((p) => [
    p.modelVersionId,
    p.feature ?? (p.slice ? `[${p.slice}]` : '*'),
    p.metric,
    p.value === null ? '-' : num(p.value),
    thresholdOf(p),
    p.status,
    p.status === 'insufficient_data' ? String(p.details.reason ?? '') : '',
  ]);
  return table(['VERSION', 'FEATURE', 'TEST', 'VALUE', 'THRESHOLD', 'STATUS', 'NOTE'], rows, { wrap: 60 });
}

/** `sextant monitors create|ls|show|rm` and `sextant monitor run`. */
export function registerMonitorsCommands(program: Command, ctx: Ctx): void {
  const cmd = program
    .command('monitors')
    .description('monitors of deployments: drift, skew, quality, performance');
  cmd
    .command('create <deployment>')
    .description(
      'create a monitor from monitor.yaml (the same name again with another spec: its next version)',
    )
    .requiredOption('-f, --file <monitor.yaml>', 'the monitor spec (see docs/monitoring.md)')
    .option('--reference <dataset@v>', "measure against this dataset version's stored profiles")
    .action(async (deployment: string, o: { file: string; reference?: string }) => {
      const c = ctx();
      const m = await (await c.api()).monitoring.create({
        deployment,
        spec: readSpec(o.file),
        ...(o.reference ? { reference: o.reference } : {}),
      });
      if (c.json) return c.output.out(JSON.stringify(m, null, 2));
      c.output.out(
        details([
          ['id', m.id],
          ['deployment', m.deployment],
          ['name', m.name],
          ['version', m.version],
        ]),
      );
    });
  cmd
    .command('ls', { isDefault: true })
    .description('list monitors')
    .option('--deployment <name>', 'only this deployment')
    .action(async (o: { deployment?: string }) => {
      const c = ctx();
      const ms = await (await c.api()).monitoring.list(o.deployment ? { deployment: o.deployment } : {});
      if (c.json) return c.output.out(JSON.stringify(ms, null, 2));
      c.output.out(
        table(
          ['ID', 'DEPLOYMENT', 'NAME', 'VERSION', 'UPDATED', 'BY'],
          ms.map((m) => [m.id, m.deployment, m.name, m.version, m.updatedAt, m.createdBy]),
        ),
      );
    });
  cmd
    .command('show <id>')
    .description('a monitor: its spec, references and latest runs')
    .action(async (id: string) => {
      const c = ctx();
      const api = (await c.api()).monitoring;
      const [m, references, runs] = await Promise.all([api.get(id), api.references(id), api.runs(id, 10)]);
      if (c.json) return c.output.out(JSON.stringify({ monitor: m, references, runs }, null, 2));
      c.output.out(
        details([
          ['id', m.id],
          ['deployment', m.deployment],
          ['name', m.name],
          ['version', m.version],
          ['spec digest', m.specDigest],
          ['deleted', m.deletedAt],
        ]),
      );
      c.output.out(`\n${m.specYaml.trimEnd()}\n`);
      c.output.out(
        table(
          ['REFERENCE', 'MONITOR V', 'MODEL VERSION', 'SOURCE', 'FROM', 'ROWS'],
          references.map((r) => [
            r.id,
            r.monitorVersion,
            r.modelVersionId,
            r.source,
            r.sourceRef,
            r.rowCount,
          ]),
        ),
      );
      c.output.out(
        table(
          ['RUN', 'WINDOW START', 'WINDOW END', 'STATUS', 'ROWS', 'POINTS', 'ERROR'],
          runs.map((r) => [r.id, r.windowStart, r.windowEnd, r.status, r.rows, r.points, r.error]),
        ),
      );
    });
  cmd
    .command('rm <id>')
    .description('remove a monitor (its runs and points stay)')
    .action(async (id: string) => {
      const c = ctx();
      await (await c.api()).monitoring.remove(id);
      c.output.err(`removed monitor ${id}`);
    });

  cmd
    .command('fairness <dataset>')
    .description(
      "pre-training bias of a labelled dataset version (<dataset>@<v>[:<table>]): Clarify's CI and DPL per group",
    )
    .requiredOption('--attribute <column>', 'the protected attribute')
    .requiredOption('--label <column>', 'the label column')
    .option('--positive <value>', 'the positive label (default: 1 / true)')
    .option('--min-group-size <n>', 'groups smaller than this answer insufficient data (default 30)')
    .action(
      async (
        dataset: string,
        o: { attribute: string; label: string; positive?: string; minGroupSize?: string },
      ) => {
        const c = ctx();
        const min = o.minGroupSize === undefined ? undefined : Number(o.minGroupSize);
        if (min !== undefined && !(Number.isInteger(min) && min >= 1))
          throw new ValidationError('--min-group-size: must be a positive integer', {
            field: '--min-group-size',
          });
        const r = await (await c.api()).monitoring.fairness({
          dataset,
          attribute: o.attribute,
          label: o.label,
          ...(o.positive !== undefined ? { positive: o.positive } : {}),
          ...(min !== undefined ? { minGroupSize: min } : {}),
        });
        if (c.json) return c.output.out(JSON.stringify(r, null, 2));
        c.output.out(
          `${r.dataset}:${r.table}  ${r.attribute} vs ${r.label}  ${r.rows} rows (${r.excludedRows} without ${r.attribute})  min group size ${r.minGroupSize}`,
        );
        const cell = (m: { value: number | null; status: string }) =>
          m.value === null ? m.status.replace('_', ' ') : formatNumber(m.value);
        c.output.out(
          table(
            ['GROUP', 'N', 'REST N', 'POSITIVES', 'CI', 'DPL', 'NOTE'],
            r.groups.map((g) => [
              g.slice,
              g.size,
              g.restSize,
              g.positives,
              cell(g.metrics.CI),
              cell(g.metrics.DPL),
              g.metrics.CI.reason ?? '',
            ]),
            { wrap: 60 },
          ),
        );
      },
    );

  const run = program.command('monitor').description('run monitors');
  run
    .command('run <deployment>')
    .description("run a deployment's monitors now and print what they measured")
    .option('--monitor <name>', 'only this monitor')
    .option('--from <time>', 'window start: an ISO time or an age like 2h (default: the window before --to)')
    .option('--to <time>', 'window end (exclusive): an ISO time or an age (default: now)')
    .action(async (deployment: string, o: { monitor?: string; from?: string; to?: string }) => {
      const c = ctx();
      const now = Date.now();
      const from = timeOf(o.from, now);
      const to = timeOf(o.to, now);
      const api = (await c.api()).monitoring;
      const window = { deployment, ...(from ? { from } : {}), ...(to ? { to } : {}) };
      // One monitor at a time, so a terminal shows how many are done and the rows each one read.
      const monitors = o.monitor ? [] : await api.list({ deployment });
      const results: MonitorRunResult[] = [];
      const progress = progressLine(c);
      try {
        if (monitors.length === 0) {
          progress.step('monitoring', o.monitor ?? deployment);
          results.push(...(await api.run({ ...window, ...(o.monitor ? { monitor: o.monitor } : {}) })));
        }
        for (const m of monitors) {
          const counted = (note: string) =>
            progress.count('monitoring', results.length, monitors.length, 'monitors', note);
          counted(`running ${m.name}`);
          results.push(...(await api.run({ ...window, monitor: m.id })));
          counted(`${m.name}: ${formatNumber(results.at(-1)?.run.rows ?? 0)} rows`);
        }
      } finally {
        progress.end();
      }
      if (c.json) return c.output.out(JSON.stringify(results, null, 2));
      for (const r of results) {
        c.output.out(
          `monitor ${r.run.monitorId}  run ${r.run.id}  [${r.run.windowStart}, ${r.run.windowEnd})  ${r.run.rows} rows`,
        );
        c.output.out(resultTable(r));
      }
    });
}
