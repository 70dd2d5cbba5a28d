import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import type { Run } from '../tracking/tracking.schema.js';
import type { CliContext } from './context.js';
import { resolveExperiment } from './experiments.command.js';
import { limitOf, limitOption, maxAlias } from './options.js';
import { details, formatNumber, table } from './output.js';

type Ctx = () => CliContext;

function metricOf(run: Run, key: string) {
  const m = run.metrics.find((x) => x.key === key);
  return m ? formatNumber(m.value) : '';
}

const BASE_COLUMNS = ['run', 'name', 'status', 'started', 'duration'] as const;

/** One cell of `runs ls`: a base column, or metrics.<key>, params.<key>, tags.<key>. */
function cellOf(run: Run, column: string): string {
  switch (column) {
    case 'run':
      return run.id;
    case 'name':
      return run.name;
    case 'status':
      return run.status;
    case 'started':
      return run.startTime;
    case 'duration':
      return duration(run);
  }
  if (column.startsWith('metrics.')) return metricOf(run, column.slice('metrics.'.length));
  if (column.startsWith('params.')) return run.params[column.slice('params.'.length)] ?? '';
  return run.tags[column.slice('tags.'.length)] ?? '';
}

/** --columns, checked: base columns by name, the others as metrics.<key>, params.<key> or tags.<key>. */
function parseColumns(text: string): string[] {
  const columns = text
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of columns)
    if (!(BASE_COLUMNS as readonly string[]).includes(c) && !/^(metrics|params|tags)\..+/.test(c))
      throw new ValidationError(
        `--columns: '${c}' is not a column; use ${BASE_COLUMNS.join(', ')}, metrics.<key>, params.<key> or tags.<key>`,
        { field: '--columns' },
      );
  if (columns.length === 0)
    throw new ValidationError('--columns: name at least one column', { field: '--columns' });
  return columns;
}

/** The metric keys --order-by sorts on, e.g. ["auc"] for "metrics.auc DESC". */
function sortMetrics(orderBy: string[] | undefined): string[] {
  return (orderBy ?? []).flatMap((t) => {
    const m = /^\s*metrics\.(?:`([^`]+)`|"([^"]+)"|(\S+))/.exec(t);
    return m ? [m[1] ?? m[2] ?? m[3] ?? ''] : [];
  });
}

function duration(run: Run): string {
  if (!run.endTime) return '';
  const s = (Date.parse(run.endTime) - Date.parse(run.startTime)) / 1000;
  return s < 60 ? `${s.toFixed(1)}s` : `${(s / 60).toFixed(1)}m`;
}

/** Values wider than this continue on the next line in `runs compare`. */
const COMPARE_WRAP = 40;

/** `sextant runs ls|show|compare`. */
export function registerRunsCommand(program: Command, ctx: Ctx): void {
  const cmd = program.command('runs');
  cmd
    .command('ls', { isDefault: true })
    .description("list runs; --filter takes MLflow's syntax")
    .option('-e, --experiment <id-or-name...>', 'experiments to search (default: 0, Default)')
    .option('--filter <filter>', 'e.g. "metrics.acc > 0.9 and params.lr = \'0.01\'"')
    .option('--order-by <term...>', 'e.g. "metrics.acc DESC"')
    .option(
      '--columns <list>',
      'columns to show, comma-separated: run,name,status,started,duration, metrics.<key>, params.<key>, tags.<key>',
    )
    .addOption(limitOption(50))
    .addOption(maxAlias())
    .option('--all', 'include deleted runs')
    .action(
      async (o: {
        experiment?: string[];
        filter?: string;
        orderBy?: string[];
        columns?: string;
        limit: string;
        max?: string;
        all?: boolean;
      }) => {
        const c = ctx();
        const columns = o.columns === undefined ? undefined : parseColumns(o.columns);
        const ids = await Promise.all(
          (o.experiment ?? ['0']).map(async (r) => (await resolveExperiment(c, r)).id),
        );
        const page = await (await c.api()).runs.search({
          experimentIds: ids,
          maxResults: limitOf(o),
          runViewType: o.all ? 'ALL' : 'ACTIVE_ONLY',
          ...(o.filter ? { filter: o.filter } : {}),
          ...(o.orderBy ? { orderBy: o.orderBy } : {}),
        });
        if (c.json) return c.output.out(JSON.stringify(page, null, 2));
        // The metric the listing is sorted by comes first, then others up to four.
        const sorted = sortMetrics(o.orderBy);
        const others = [...new Set(page.runs.flatMap((r) => r.metrics.map((m) => m.key)))].sort();
        const keys = [...new Set([...sorted, ...others])].slice(0, Math.max(4, sorted.length));
        const shown = columns ?? [...BASE_COLUMNS, ...keys.map((k) => `metrics.${k}`)];
        c.output.out(
          table(
            shown.map((col) => (col.startsWith('metrics.') && !columns ? col.slice(8) : col).toUpperCase()),
            page.runs.map((r) => shown.map((col) => cellOf(r, col))),
          ),
        );
      },
    );
  cmd
    .command('show <run-id>')
    .description('show a run: params, latest metrics, tags, inputs, artifacts')
    .action(async (id: string) => {
      const c = ctx();
      const api = await c.api();
      const run = await api.runs.get(id);
      const artifacts = await api.runs.listArtifacts(id);
      if (c.json) return c.output.out(JSON.stringify({ ...run, artifacts }, null, 2));
      const sections = [
        details([
          ['run', run.id],
          ['name', run.name],
          ['experiment', run.experimentId],
          ['status', run.status],
          ['user', run.userId],
          ['started', run.startTime],
          ['ended', run.endTime],
          ['git commit', run.gitCommit ? `${run.gitCommit}${run.gitDirty ? ' (dirty)' : ''}` : null],
          ['command', run.command],
          ['artifacts', run.artifactUri],
        ]),
        table(['PARAM', 'VALUE'], Object.entries(run.params)),
        table(
          ['METRIC', 'VALUE', 'STEP'],
          run.metrics.map((m) => [m.key, formatNumber(m.value), m.step]),
        ),
        table(
          ['TAG', 'VALUE'],
          Object.entries(run.tags).filter(([k]) => !k.startsWith('mlflow.runName')),
        ),
      ];
      if (run.inputs.length)
        sections.push(
          table(
            ['INPUT', 'DIGEST', 'SOURCE'],
            run.inputs.map((i) => [i.name, i.digest, i.source]),
          ),
        );
      if (artifacts.length)
        sections.push(
          table(
            ['ARTIFACT', 'SIZE'],
            artifacts.map((a) => [a.isDir ? `${a.path}/` : a.path, a.size]),
          ),
        );
      c.output.out(sections.join('\n\n'));
    });
  cmd
    .command('compare <run-ids...>')
    .description('params and metrics of several runs side by side; long values wrap')
    .option('--diff', 'only the params and metrics whose values differ between the runs')
    .action(async (ids: string[], o: { diff?: boolean }) => {
      const c = ctx();
      const api = await c.api();
      const runs = await Promise.all(ids.map((id) => api.runs.get(id)));
      const params = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
      const metrics = [...new Set(runs.flatMap((r) => r.metrics.map((m) => m.key)))].sort();
      if (c.json) {
        const rows = runs.map((r) => ({
          id: r.id,
          name: r.name,
          params: r.params,
          metrics: Object.fromEntries(r.metrics.map((m) => [m.key, m.value])),
        }));
        return c.output.out(JSON.stringify({ runs: rows, params, metrics }, null, 2));
      }
      const all = [
        ...params.map((p) => [`params.${p}`, ...runs.map((r) => r.params[p] ?? '')]),
        ...metrics.map((m) => [`metrics.${m}`, ...runs.map((r) => metricOf(r, m))]),
      ];
      const rows = o.diff ? all.filter(([, ...values]) => new Set(values).size > 1) : all;
      if (o.diff && rows.length === 0) return c.output.out('no differences in params or metrics');
      c.output.out(table(['', ...runs.map((r) => r.name)], rows, { wrap: COMPARE_WRAP }));
    });
}
