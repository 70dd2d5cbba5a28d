import type { Command } from 'commander';
import type { Experiment } from '../tracking/tracking.schema.js';
import type { CliContext } from './context.js';
import { limitOf, limitOption, maxAlias } from './options.js';
import { details, parsePairs, table } from './output.js';

type Ctx = () => CliContext;

/** An experiment named by id or by name. */
export async function resolveExperiment(ctx: CliContext, ref: string): Promise<Experiment> {
  const api = await ctx.api();
  return /^\d+$/.test(ref) ? api.experiments.get(ref) : api.experiments.getByName(ref);
}

function print(ctx: CliContext, e: Experiment) {
  if (ctx.json) return ctx.output.out(JSON.stringify(e, null, 2));
  ctx.output.out(
    details([
      ['id', e.id],
      ['name', e.name],
      ['stage', e.lifecycleStage],
      ['artifacts', e.artifactLocation],
      ['created', e.createdAt],
      [
        'tags',
        Object.entries(e.tags)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ') || '-',
      ],
    ]),
  );
}

/** `sextant experiments ls|create|show|delete|restore`. */
export function registerExperimentsCommand(program: Command, ctx: Ctx): void {
  const cmd = program.command('experiments');
  cmd
    .command('ls', { isDefault: true })
    .description('list experiments')
    .option('--deleted', 'show deleted experiments only')
    .option('--all', 'show active and deleted experiments')
    .option('--filter <filter>', 'MLflow filter, e.g. "name LIKE \'credit%\'"')
    .addOption(limitOption(100))
    .addOption(maxAlias())
    .action(async (o: { deleted?: boolean; all?: boolean; filter?: string; limit: string; max?: string }) => {
      const c = ctx();
      const page = await (await c.api()).experiments.list({
        viewType: o.all ? 'ALL' : o.deleted ? 'DELETED_ONLY' : 'ACTIVE_ONLY',
        maxResults: limitOf(o),
        ...(o.filter ? { filter: o.filter } : {}),
      });
      if (c.json) return c.output.out(JSON.stringify(page, null, 2));
      c.output.out(
        table(
          ['ID', 'NAME', 'STAGE', 'CREATED'],
          page.experiments.map((e) => [e.id, e.name, e.lifecycleStage, e.createdAt]),
        ),
      );
    });
  cmd
    .command('create <name>')
    .description('create an experiment')
    .option('--tag <k=v...>', 'tags')
    .action(async (name: string, o: { tag?: string[] }) => {
      const c = ctx();
      print(c, await (await c.api()).experiments.create({ name, tags: parsePairs(o.tag, '--tag') }));
    });
  cmd
    .command('show <experiment>')
    .description('show an experiment (by id or name)')
    .action(async (ref: string) => {
      const c = ctx();
      print(c, await resolveExperiment(c, ref));
    });
  for (const action of ['delete', 'restore'] as const) {
    cmd
      .command(`${action} <experiment>`)
      .description(
        action === 'delete' ? 'soft-delete an experiment and its runs' : 'restore a deleted experiment',
      )
      .action(async (ref: string) => {
        const c = ctx();
        const e = await resolveExperiment(c, ref);
        await (await c.api()).experiments[action](e.id);
        c.output.out(
          c.json
            ? JSON.stringify({ id: e.id, [action === 'delete' ? 'deleted' : 'restored']: true })
            : `${action === 'delete' ? 'deleted' : 'restored'} experiment ${e.id} (${e.name})`,
        );
      });
  }
}
