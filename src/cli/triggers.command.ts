import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml, YAMLError } from 'yaml';
import { ValidationError } from '../core/errors.js';
import type { CreateTriggerInput, Trigger } from '../pipelines/triggers/trigger.schema.js';
import type { CliContext } from './context.js';
import { details, table } from './output.js';

type Ctx = () => CliContext;

/** The trigger's occasion in a few words: `cron 0 3 * * *`, `dataset credit-*`, `event alert.fired`. */
function occasion(t: Trigger): string {
  const on = t.on;
  if ('cron' in on) return `cron ${on.cron}`;
  if ('dataset' in on) return `dataset ${on.dataset}`;
  if ('event' in on) return `event ${on.event.types.join(',')}`;
  return 'manual';
}

function readTriggerFile(file: string): CreateTriggerInput {
  if (!existsSync(file)) throw new ValidationError(`--file: '${file}' does not exist`, { field: 'file' });
  try {
    return parseYaml(readFileSync(file, 'utf8')) as CreateTriggerInput;
  } catch (err) {
    const msg = err instanceof YAMLError ? err.message.split('\n')[0] : String(err);
    throw new ValidationError(`--file: not valid YAML: ${msg}`, { field: 'file' });
  }
}

/** `sextant triggers create|ls|show|rm|fire`. */
export function registerTriggersCommands(program: Command, ctx: Ctx): void {
  const cmd = program.command('triggers');
  cmd
    .command('create')
    .description('create a trigger from a YAML file (see docs/pipelines-triggers.md)')
    .requiredOption('-f, --file <trigger.yaml>', 'the trigger spec')
    .action(async (o: { file: string }) => {
      const c = ctx();
      const t = await (await c.api()).triggers.create(readTriggerFile(o.file));
      if (c.json) return c.output.out(JSON.stringify(t, null, 2));
      c.output.out(
        details([
          ['id', t.id],
          ['name', t.name],
          ['on', occasion(t)],
          ['pipeline', t.pipeline],
          ['concurrency', t.concurrency],
        ]),
      );
    });
  cmd
    .command('ls', { isDefault: true })
    .description('list triggers')
    .action(async () => {
      const c = ctx();
      const ts = await (await c.api()).triggers.list();
      if (c.json) return c.output.out(JSON.stringify(ts, null, 2));
      c.output.out(
        table(
          ['ID', 'NAME', 'ON', 'PIPELINE', 'CONCURRENCY', 'CREATED'],
          ts.map((t) => [t.id, t.name, occasion(t), t.pipeline, t.concurrency, t.createdAt]),
        ),
      );
    });
  cmd
    .command('show <trigger>')
    .description('a trigger (id or name) and its recent firings')
    .action(async (ref: string) => {
      const c = ctx();
      const t = await (await c.api()).triggers.get(ref);
      if (c.json) return c.output.out(JSON.stringify(t, null, 2));
      c.output.out(
        [
          details([
            ['id', t.id],
            ['name', t.name],
            ['on', occasion(t)],
            ['pipeline', t.pipeline],
            ['params', JSON.stringify(t.params)],
            ['concurrency', t.concurrency],
          ]),
          table(
            ['FIRED', 'KEY', 'STATUS', 'RUN', 'NOTE'],
            t.firings.map((f) => [f.createdAt, f.key, f.status, f.runId ?? '', f.error ?? '']),
          ),
        ].join('\n\n'),
      );
    });
  cmd
    .command('rm <trigger>')
    .description('remove a trigger (its firings stay on record)')
    .action(async (ref: string) => {
      const c = ctx();
      await (await c.api()).triggers.remove(ref);
      c.output.out(c.json ? JSON.stringify({ ok: true }) : `removed trigger ${ref}`);
    });
  cmd
    .command('fire <trigger>')
    .description('fire a trigger now (under its concurrency policy)')
    .option('--key <key>', 'dedup key: the same key fires once (e.g. a CI build id)')
    .option('--event <json>', 'a JSON object: the values the params read as event.<field>')
    .action(async (ref: string, o: { key?: string; event?: string }) => {
      const c = ctx();
      let event: Record<string, unknown> | undefined;
      if (o.event !== undefined) {
        try {
          event = JSON.parse(o.event) as Record<string, unknown>;
        } catch {
          throw new ValidationError('--event: not a JSON object', { field: 'event' });
        }
      }
      const r = await (await c.api()).triggers.fire(ref, {
        ...(o.key !== undefined ? { key: o.key } : {}),
        ...(event ? { event } : {}),
      });
      if (c.json) return c.output.out(JSON.stringify(r, null, 2));
      const f = r.firing;
      c.output.out(
        details([
          ['firing', f.id],
          ['status', r.duplicate ? `${f.status} (this key fired before)` : f.status],
          ['run', f.runId ?? ''],
          ['note', f.error ?? ''],
        ]),
      );
    });
}
