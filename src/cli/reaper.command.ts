import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { details, table } from './output.js';

type Ctx = () => CliContext;

const window = (o: { from?: string; to?: string }) => ({
  ...(o.from !== undefined ? { from: o.from } : {}),
  ...(o.to !== undefined ? { to: o.to } : {}),
});

/** `sextant reaper savings|ls`: what the idle reaper did and what it saved. */
export function registerReaperCommands(program: Command, ctx: Ctx): void {
  const cmd = program.command('reaper');
  cmd
    .command('savings', { isDefault: true })
    .description('instance-hours not run because of unloads and worker exits, and the cold starts paid')
    .option('--from <iso>', 'window start (default: 30 days before --to)')
    .option('--to <iso>', 'window end (default: now)')
    .action(async (o: { from?: string; to?: string }) => {
      const c = ctx();
      const r = await (await c.api()).reaper.savings(window(o));
      if (c.json) return c.output.out(JSON.stringify(r, null, 2));
      const cold = r.deployments.coldStartMs;
      c.output.out(
        details([
          ['window', `${r.from} .. ${r.to}`],
          ['deployment unloads', r.deployments.unloads],
          ['deployment wakes', r.deployments.wakes],
          ['deployment hours saved', r.deployments.hoursSaved.toFixed(2)],
          [
            'cold start (mean / max)',
            cold.count ? `${cold.mean?.toFixed(0)} ms / ${cold.max?.toFixed(0)} ms` : '-',
          ],
          ['worker exits', r.workers.exits],
          ['worker hours saved (at most)', r.workers.hoursSaved.toFixed(2)],
          ['GPU jobs flagged / stopped', `${r.gpu.flagged} / ${r.gpu.stopped}`],
          ['saved', `${r.amountSaved.toFixed(2)} ${r.currency} (hours x the rates in reaper.yaml)`],
        ]),
      );
    });
  cmd
    .command('ls')
    .description('what the reaper did: unloads, wakes, worker exits, GPU flags')
    .option('--from <iso>', 'window start (default: 30 days before --to)')
    .option('--to <iso>', 'window end (default: now)')
    .action(async (o: { from?: string; to?: string }) => {
      const c = ctx();
      const actions = await (await c.api()).reaper.actions(window(o));
      if (c.json) return c.output.out(JSON.stringify(actions, null, 2));
      c.output.out(
        table(
          ['AT', 'KIND', 'TARGET', 'IDLE', 'COLD START'],
          actions.map((a) => [
            a.at,
            a.kind,
            a.target,
            a.idleMs === null ? '' : `${Math.round(a.idleMs / 1000)} s`,
            a.coldStartMs === null ? '' : `${a.coldStartMs.toFixed(0)} ms`,
          ]),
        ),
      );
    });
}
