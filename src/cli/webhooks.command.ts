import type { Command } from 'commander';
import { eventDefinitions } from '../app/index.js';
import { ValidationError } from '../core/errors.js';
import type { WebhookDelivery } from '../events/webhooks/webhook.schema.js';
import type { CliContext } from './context.js';
import { CliOutcome } from './exit-codes.js';
import { LIST_MAX, positiveInt } from './options.js';
import { details, table } from './output.js';

type Ctx = () => CliContext;

const EVENT_TYPES = eventDefinitions.map((d) => d.type).sort();

function parseEvents(list: string): string[] {
  const events = list
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of events)
    if (!EVENT_TYPES.includes(e))
      throw new ValidationError(`--events: unknown event '${e}'; one of ${EVENT_TYPES.join(', ')}`, {
        field: '--events',
      });
  return events;
}

/** One line per attempt (a delivery not yet attempted gets one line too). */
function deliveryRows(ds: WebhookDelivery[]) {
  return ds.flatMap((d) => {
    const next = d.state === 'pending' ? (d.nextAttemptAt ?? '') : '';
    if (!d.log.length) return [[d.id, d.eventType, d.targetId, d.state, '-', '', '', next]];
    return d.log.map((a, i) => [
      d.id,
      d.eventType,
      d.targetId,
      i === d.log.length - 1 ? d.state : '',
      a.attempt,
      a.statusCode ?? '',
      a.error ?? '',
      i === d.log.length - 1 ? next : '',
    ]);
  });
}

/** `sextant webhooks add|ls|rm|deliveries|test`. */
export function registerWebhooksCommands(program: Command, ctx: Ctx): void {
  const cmd = program.command('webhooks');
  cmd
    .command('add <url>')
    .description(`send events to a URL; events: ${EVENT_TYPES.join(', ')}`)
    .option('--events <list>', 'comma-separated event types (default: all)')
    .option('--secret <secret>', 'signing secret, 16+ characters (default: generated, shown once)')
    .option('--description <text>', 'what the target is for')
    .action(async (url: string, o: { events?: string; secret?: string; description?: string }) => {
      const c = ctx();
      const created = await (await c.api()).webhooks.add({
        url,
        ...(o.events !== undefined ? { events: parseEvents(o.events) } : {}),
        ...(o.secret !== undefined ? { secret: o.secret } : {}),
        ...(o.description !== undefined ? { description: o.description } : {}),
      });
      if (c.json) return c.output.out(JSON.stringify(created, null, 2));
      c.output.out(
        details([
          ['id', created.target.id],
          ['url', created.target.url],
          ['events', created.target.events.join(', ') || 'all'],
          ['secret', created.secret],
        ]),
      );
      c.output.err(
        'keep the secret now: it is not shown again (receivers verify X-Sextant-Signature with it)',
      );
    });
  cmd
    .command('ls', { isDefault: true })
    .description('list webhook targets')
    .action(async () => {
      const c = ctx();
      const targets = await (await c.api()).webhooks.list();
      if (c.json) return c.output.out(JSON.stringify(targets, null, 2));
      c.output.out(
        table(
          ['ID', 'URL', 'EVENTS', 'CREATED', 'BY'],
          targets.map((t) => [t.id, t.url, t.events.join(',') || 'all', t.createdAt, t.createdBy]),
        ),
      );
    });
  cmd
    .command('rm <id>')
    .description('remove a webhook target (its pending deliveries fail)')
    .action(async (id: string) => {
      const c = ctx();
      await (await c.api()).webhooks.remove(id);
      if (c.json) return c.output.out(JSON.stringify({ ok: true }));
      c.output.out(`removed webhook ${id}`);
    });
  cmd
    .command('deliveries')
    .description('the delivery log: event, attempt, status code, error, next retry')
    .option('--target <id>', 'only deliveries to this target')
    .option('--limit <n>', 'at most this many deliveries, newest first', '50')
    .action(async (o: { target?: string; limit: string }) => {
      const c = ctx();
      const ds = await (await c.api()).webhooks.deliveries({
        limit: positiveInt(o.limit, '--limit', LIST_MAX),
        ...(o.target ? { target: o.target } : {}),
      });
      if (c.json) return c.output.out(JSON.stringify(ds, null, 2));
      c.output.out(
        table(
          ['DELIVERY', 'EVENT', 'TARGET', 'STATE', 'ATTEMPT', 'STATUS', 'ERROR', 'NEXT RETRY'],
          deliveryRows(ds),
        ),
      );
    });
  cmd
    .command('test <id>')
    .description("send a 'webhook.test' event to a target now and show how it went")
    .action(async (id: string) => {
      const c = ctx();
      const d = await (await c.api()).webhooks.test(id);
      if (c.json) c.output.out(JSON.stringify(d, null, 2));
      else {
        const last = d.log[d.log.length - 1];
        c.output.out(
          details([
            ['delivery', d.id],
            ['state', d.state],
            ['status', last?.statusCode],
            ['error', last?.error],
            ['next retry', d.state === 'pending' ? d.nextAttemptAt : undefined],
          ]),
        );
      }
      if (d.state !== 'delivered')
        throw new CliOutcome(
          'CHECK_FAILED',
          `the test delivery to webhook ${id} was not delivered (${d.state})`,
        );
    });
}
