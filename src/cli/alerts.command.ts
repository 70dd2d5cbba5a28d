import fs from 'node:fs';
import type { Command } from 'commander';
import type { Alert } from '../monitoring/alerts/alert.schema.js';
import type { CliContext } from './context.js';
import { LIST_MAX, positiveInt } from './options.js';
import { details, table } from './output.js';

type Ctx = () => CliContext;

const STATES = ['firing', 'acknowledged', 'resolved', 'open'] as const;

function where(a: Alert): string {
  return [a.feature, a.slice].filter((x) => x !== null).join(' / ') || '-';
}

/** `sextant alerts ls|show|ack` and `sextant monitor report`. */
export function registerAlertsCommands(program: Command, ctx: Ctx): void {
  const cmd = program.command('alerts');
  cmd
    .command('ls', { isDefault: true })
    .description('list alerts, newest first')
    .option('--state <state>', `only alerts in this state: ${STATES.join(', ')}`)
    .option('--deployment <name>', 'only alerts of this deployment')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (o: { state?: string; deployment?: string; limit: string }) => {
      const c = ctx();
      const alerts = await (await c.api()).alerts.list({
        limit: positiveInt(o.limit, '--limit', LIST_MAX),
        ...(o.state !== undefined ? { state: o.state as (typeof STATES)[number] } : {}),
        ...(o.deployment !== undefined ? { deployment: o.deployment } : {}),
      });
      if (c.json) return c.output.out(JSON.stringify(alerts, null, 2));
      c.output.out(
        table(
          ['ID', 'STATE', 'SEVERITY', 'RULE', 'METRIC', 'FEATURE/SLICE', 'VALUE', 'FIRED', 'ACTION'],
          alerts.map((a) => [
            a.id,
            a.state,
            a.severity,
            a.rule,
            a.metric,
            where(a),
            a.value === null ? '-' : `${Number(a.value.toPrecision(4))} (${a.condition})`,
            a.firedAt,
            a.actionOutcome ? `${a.action}: ${a.actionOutcome.status}` : a.action,
          ]),
        ),
      );
    });
  cmd
    .command('show <id>')
    .description('one alert: rule, series, value, states, what its action did')
    .action(async (id: string) => {
      const c = ctx();
      const a = await (await c.api()).alerts.get(id);
      if (c.json) return c.output.out(JSON.stringify(a, null, 2));
      c.output.out(
        details([
          ['id', a.id],
          ['state', a.state],
          ['severity', a.severity],
          ['rule', a.rule],
          ['monitor', a.monitorId],
          ['deployment', a.deploymentId],
          ['model version', a.modelVersionId],
          ['metric', a.metric],
          ['feature', a.feature],
          ['slice', a.slice],
          ['value', a.value],
          ['condition', a.condition],
          ['window', `${a.windowStart} .. ${a.windowEnd}`],
          ['fired', a.firedAt],
          ['last seen', a.lastSeenAt],
          ['acknowledged', a.acknowledgedAt ? `${a.acknowledgedAt} by ${a.acknowledgedBy}` : null],
          ['comment', a.comment],
          ['resolved', a.resolvedAt],
          [
            'action',
            a.actionOutcome ? `${a.action}: ${a.actionOutcome.status}, ${a.actionOutcome.message}` : a.action,
          ],
        ]),
      );
    });
  cmd
    .command('ack <id>')
    .description('acknowledge a firing alert (it still resolves by itself when its condition clears)')
    .option('--comment <text>', 'why, or who is on it')
    .action(async (id: string, o: { comment?: string }) => {
      const c = ctx();
      const a = await (await c.api()).alerts.ack(id, o.comment !== undefined ? { comment: o.comment } : {});
      if (c.json) return c.output.out(JSON.stringify(a, null, 2));
      c.output.out(`acknowledged ${a.id} (${a.rule})`);
    });

  // `monitor` may be defined by the monitors module too: both add their subcommands to one command.
  const monitor = program.commands.find((x) => x.name() === 'monitor') ?? program.command('monitor');
  monitor
    .command('report <deployment>')
    .description('the monitoring report as one self-contained HTML file (inline SVG, opens offline)')
    .requiredOption('--html <file>', 'where to write it')
    .option('--from <time>', 'from this ISO time (default: all stored windows)')
    .option('--to <time>', 'up to this ISO time (default: now)')
    .action(async (deployment: string, o: { html: string; from?: string; to?: string }) => {
      const c = ctx();
      const html = await (await c.api()).alerts.report(deployment, {
        ...(o.from !== undefined ? { from: o.from } : {}),
        ...(o.to !== undefined ? { to: o.to } : {}),
      });
      fs.writeFileSync(o.html, html);
      if (c.json) return c.output.out(JSON.stringify({ file: o.html, bytes: Buffer.byteLength(html) }));
      c.output.out(`wrote ${o.html} (${Buffer.byteLength(html)} bytes)`);
    });
}
