import type { Command } from 'commander';
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

function duration(run: Run): string {
  if (!run.endTime) return '';
  const s = (Date.parse(run.endTime) - Date.parse(run.startTime)) / 1000;
  return s < 60 ? `${s.toFixed(1)}s` : `${(s / 60).toFixed(1)}m`;
}

/** `sextant runs ls|show|compare`. */
export function registerRunsCommand(program: Command, ctx: Ctx): void {
  const cmd = program.command('runs');
  cmd
    .command('ls', { isDefault: true })
    .description("list runs; --filter takes MLflow's syntax")
    .option('-e, --experiment <id-or-name...>', 'experiments to search (default: 0, Default)')
    .option('--filter <filter>', 'e.g. "metrics.acc > 0.9 and params.lr = \'0.01\'"')
    .option('--order-by <term...>', 'e.g. "metrics.acc DESC"')
    .addOption(limitOption(50))
    .addOption(maxAlias())
    .option('--all', 'include deleted runs')
    .action(
      async (o: {
        experiment?: string[];
        filter?: string;
        orderBy?: string[];
        limit: string;
        max?: string;
        all?: boolean;
      }) => {
        const c = ctx();
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
        const keys = [...new Set(page.runs.flatMap((r) => r.metrics.map((m) => m.key)))].sort().slice(0, 4);
        c.output.out(
          table(
            ['RUN', 'NAME', 'STATUS', 'STARTED', 'DURATION', ...keys],
            page.runs.map((r) => [
              r.id,
              r.name,
              r.status,
              r.startTime,
              duration(r),
              ...keys.map((k) => metricOf(r, k)),
            ]),
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
    .description('params and metrics of several runs side by side')
    .action(async (ids: string[]) => {
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
      const rows = [
        ...params.map((p) => [`params.${p}`, ...runs.map((r) => r.params[p] ?? '')]),
        ...metrics.map((m) => [`metrics.${m}`, ...runs.map((r) => metricOf(r, m))]),
      ];
      c.output.out(table(['', ...runs.map((r) => r.name)], rows));
    });
}
