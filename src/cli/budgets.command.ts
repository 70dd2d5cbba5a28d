import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import type { Budget, BudgetScopeKind } from '../cost/budgets/budget.schema.js';
import type { CliContext } from './context.js';
import { details, table } from './output.js';

type Ctx = () => CliContext;

function amountOf(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new ValidationError(`${flag}: '${value}' is not a positive amount`, { field: flag });
  return n;
}

function shareOf(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 1)
    throw new ValidationError(`--soft: '${value}' is not a share in (0, 1] (e.g. 0.8)`, { field: '--soft' });
  return n;
}

/** --experiment <id> | --tag key=value | --team <name>: exactly one. */
function scopeOf(o: { experiment?: string; tag?: string; team?: string }): {
  kind: BudgetScopeKind;
  value: string;
} {
  const given = (['experiment', 'tag', 'team'] as const).filter((k) => o[k] !== undefined);
  if (given.length !== 1)
    throw new ValidationError('give exactly one of --experiment <id>, --tag key=value, --team <name>', {
      field: '--experiment',
    });
  const kind = given[0]!;
  return { kind, value: o[kind]! };
}

const money = (v: number | null | undefined, currency: string) =>
  v === null || v === undefined ? '-' : `${v.toFixed(2)} ${currency}`;

function stateOf(b: Budget): string {
  if (!b.current) return 'inactive';
  if (b.current.exhausted) return 'EXHAUSTED';
  return b.current.softReached ? 'soft limit' : 'ok';
}

/** `sextant budgets create|ls|show|update|rm|check`. */
export function registerBudgetsCommands(program: Command, ctx: Ctx): void {
  const cmd = program.command('budgets');
  cmd
    .command('create <name>')
    .description('cap the spend of an experiment, a run tag or a team per period (admin)')
    .option('--experiment <id>', 'the experiment id')
    .option('--tag <key=value>', 'runs carrying this tag')
    .option('--team <name>', 'runs tagged team=<name>')
    .requiredOption('--amount <n>', 'the hard limit: new work is refused and queued work held once spent')
    .option('--currency <code>', 'ISO 4217 code, as the price book', 'USD')
    .option('--period <p>', 'month | week | day (UTC) | custom (with --from and --to)', 'month')
    .option('--from <iso>', 'custom period start')
    .option('--to <iso>', 'custom period end')
    .option('--soft <share>', 'soft limit as a share of the amount (an event when reached)', '0.8')
    .option('--allow-unknown-scope', 'create it even if no run carries the tag or team yet (warns)')
    .action(
      async (
        name: string,
        o: {
          experiment?: string;
          tag?: string;
          team?: string;
          amount: string;
          currency: string;
          period: string;
          from?: string;
          to?: string;
          soft: string;
          allowUnknownScope?: boolean;
        },
      ) => {
        const c = ctx();
        const created = await (await c.api()).budgets.create({
          name,
          scope: scopeOf(o),
          amount: amountOf(o.amount, '--amount'),
          currency: o.currency,
          period: o.period as 'month',
          softShare: shareOf(o.soft),
          ...(o.from !== undefined ? { from: o.from } : {}),
          ...(o.to !== undefined ? { to: o.to } : {}),
          ...(o.allowUnknownScope ? { allowUnknownScope: true } : {}),
        });
        if (c.json) return c.output.out(JSON.stringify(created, null, 2));
        for (const w of created.warnings) c.output.err(`warning: ${w}`);
        c.output.out(`created budget ${created.budget.name} (${created.budget.id})`);
      },
    );
  cmd
    .command('ls', { isDefault: true })
    .description('list budgets: scope, period, spend, forecast, state')
    .action(async () => {
      const c = ctx();
      const bs = await (await c.api()).budgets.list();
      if (c.json) return c.output.out(JSON.stringify(bs, null, 2));
      c.output.out(
        table(
          ['NAME', 'SCOPE', 'PERIOD', 'LIMIT', 'SPENT', 'FORECAST', 'STATE'],
          bs.map((b) => [
            b.name,
            `${b.scope.kind}:${b.scope.value}`,
            b.period,
            money(b.amount, b.currency),
            money(b.current?.spent, b.currency),
            money(b.current?.forecast, b.currency),
            stateOf(b),
          ]),
        ),
      );
    });
  cmd
    .command('show <ref>')
    .description('one budget (by id or name)')
    .action(async (ref: string) => {
      const c = ctx();
      const b = await (await c.api()).budgets.get(ref);
      if (c.json) return c.output.out(JSON.stringify(b, null, 2));
      c.output.out(
        details([
          ['id', b.id],
          ['name', b.name],
          ['scope', `${b.scope.kind} ${b.scope.value}`],
          [
            'period',
            b.current ? `${b.period} ${b.current.from} .. ${b.current.to}` : `${b.period} (not open now)`,
          ],
          ['hard limit', money(b.amount, b.currency)],
          ['soft limit', money(b.amount * b.softShare, b.currency)],
          ['spent', money(b.current?.spent, b.currency)],
          ['forecast', `${money(b.current?.forecast, b.currency)} (linear to the period's end)`],
          ['checked', b.current?.checkedAt ?? 'not yet'],
          ['state', stateOf(b)],
        ]),
      );
    });
  cmd
    .command('update <ref>')
    .description('change the amount or soft share (a raise above the spend frees held work)')
    .option('--amount <n>', 'the new hard limit')
    .option('--soft <share>', 'the new soft share')
    .action(async (ref: string, o: { amount?: string; soft?: string }) => {
      const c = ctx();
      if (o.amount === undefined && o.soft === undefined)
        throw new ValidationError('give --amount or --soft', { field: '--amount' });
      const b = await (await c.api()).budgets.update(ref, {
        ...(o.amount !== undefined ? { amount: amountOf(o.amount, '--amount') } : {}),
        ...(o.soft !== undefined ? { softShare: shareOf(o.soft) } : {}),
      });
      if (c.json) return c.output.out(JSON.stringify(b, null, 2));
      c.output.out(`budget ${b.name}: limit ${money(b.amount, b.currency)}, ${stateOf(b)}`);
    });
  cmd
    .command('rm <ref>')
    .description('remove a budget (soft; audited): it refuses and holds nothing from now on')
    .action(async (ref: string) => {
      const c = ctx();
      await (await c.api()).budgets.remove(ref);
      if (c.json) return c.output.out(JSON.stringify({ ok: true }));
      c.output.out(`removed budget ${ref}`);
    });
  cmd
    .command('check')
    .description('check every budget against spend now (the cost.budgets job does it each minute)')
    .action(async () => {
      const c = ctx();
      const r = await (await c.api()).budgets.check();
      if (c.json) return c.output.out(JSON.stringify(r, null, 2));
      c.output.out(
        table(
          ['BUDGET', 'STATUS', 'SPENT', 'FORECAST', 'LIMIT', 'EMITTED'],
          r.checks.map((k) => [
            k.name,
            k.status,
            money(k.spent, k.currency),
            money(k.forecast, k.currency),
            money(k.limit, k.currency),
            k.emitted.join(', '),
          ]),
        ),
      );
      for (const f of r.failed) c.output.err(`budget ${f.budgetId}: check failed: ${f.error}`);
    });
}
