import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AuditLog } from '../../audit/index.js';
import { type Clock, toIso } from '../../core/clock.js';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import { newId } from '../../core/ids.js';
import { parseOrThrow } from '../../core/validate.js';
import { type Db, type Executor, inTransaction } from '../../store/index.js';
import type { EventCatalogue } from '../event-catalogue.js';
import { bareHost, parseAllowList, refusalFor } from './address-guard.js';
import { createSecretBox } from './secret-box.js';
import * as repo from './webhook.repo.js';
import {
  type CreatedWebhook,
  type CreateWebhookInput,
  createWebhookInputSchema,
  type DeliveriesQuery,
  deliveriesQuerySchema,
  WEBHOOK_TEST_EVENT,
  type WebhookDelivery,
  type WebhookEventInput,
  type WebhookTarget,
  webhookIdSchema,
} from './webhook.schema.js';
import { createDeliverer, DEFAULT_DELIVERY_OPTIONS, type DeliveryOptions } from './webhook-deliverer.js';
import { createSender, type Resolver, systemResolver } from './webhook-sender.js';

export interface WebhookDeps {
  db: Db;
  /** The known event types: a target may only subscribe to these. */
  catalogue: Pick<EventCatalogue, 'has' | 'types'>;
  audit: AuditLog;
  clock: Clock;
  /** The server key (the audit key): webhook secrets are sealed with a key derived from it. */
  secretKey: string;
  /** SEXTANT_WEBHOOK_ALLOW entries: addresses, CIDR ranges or host names exempt from the address rules. */
  allow?: readonly string[];
  /** Name resolution (default: the system's); tests swap it to simulate DNS answers. */
  resolve?: Resolver;
  delivery?: Partial<DeliveryOptions>;
  /** Jitter source (default Math.random). */
  random?: () => number;
}

function toTarget(row: repo.TargetRow): WebhookTarget {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    ...(row.description ? { description: row.description } : {}),
    createdAt: toIso(row.created_at),
    createdBy: row.created_by,
  };
}

/** Webhook targets, the outbox that emit() fills inside a caller's transaction, and its delivery log. */
export function createWebhookService(deps: WebhookDeps) {
  const { db, audit, clock } = deps;
  const allow = parseAllowList(deps.allow ?? []);
  const resolve = deps.resolve ?? systemResolver;
  const options: DeliveryOptions = { ...DEFAULT_DELIVERY_OPTIONS, ...deps.delivery };
  const box = createSecretBox(deps.secretKey);
  const deliverer = createDeliverer({
    db,
    clock,
    openSecret: box.open,
    options,
    random: deps.random ?? Math.random,
    send: createSender({
      allow,
      resolve,
      timeoutMs: options.requestTimeoutMs,
      maxRedirects: options.maxRedirects,
    }),
  });

  /** The add-time check: a clear error now, though the check at connect time is the one that holds. */
  async function checkUrl(raw: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ValidationError(`url: '${raw}' is not a URL`, { field: 'url' });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ValidationError(`url: must be http:// or https://, not ${url.protocol}`, { field: 'url' });
    if (url.username || url.password)
      throw new ValidationError('url: must not carry credentials; receivers check the signature instead', {
        field: 'url',
      });
    const host = bareHost(url);
    let addresses: string[];
    if (net.isIP(host)) addresses = [host];
    else {
      try {
        addresses = (await resolve(host)).map((a) => a.address);
      } catch (err) {
        const code = (err as { code?: string }).code ?? (err as Error).message;
        throw new ValidationError(`url: cannot resolve host '${host}' (${code})`, { field: 'url' });
      }
      if (!addresses.length)
        throw new ValidationError(`url: host '${host}' has no address`, { field: 'url' });
    }
    for (const a of addresses) {
      const why = refusalFor(allow, host, a);
      if (why)
        throw new ValidationError(`url: refused, ${host === a ? '' : `'${host}' resolves to `}${why}`, {
          field: 'url',
          address: a,
        });
    }
    return url.href;
  }

  async function getRow(tx: Executor, id: string): Promise<repo.TargetRow> {
    parseOrThrow(webhookIdSchema, id, 'id');
    const row = await repo.findTarget({ tx, id });
    if (!row || row.deleted_at !== null) throw new NotFoundError('webhook', id);
    return row;
  }

  async function add(input: { actor: string } & CreateWebhookInput): Promise<CreatedWebhook> {
    const { actor, ...rest } = input;
    const parsed = parseOrThrow(createWebhookInputSchema, rest);
    parsed.events?.forEach((e, i) => {
      if (!deps.catalogue.has(e))
        throw new ValidationError(
          `events.${i}: unknown event type '${e}'; one of ${deps.catalogue.types().join(', ')}`,
          { field: `events.${i}` },
        );
    });
    const url = await checkUrl(parsed.url);
    const secret = parsed.secret ?? `whsec_${randomBytes(32).toString('base64url')}`;
    const now = clock.now();
    const events = [...new Set(parsed.events ?? [])].sort();
    const row: repo.TargetRow = {
      id: newId('whk', now),
      url,
      events: JSON.stringify(events),
      secret: box.seal(secret),
      description: parsed.description ?? null,
      created_at: now,
      created_by: actor,
      deleted_at: null,
    };
    await inTransaction(db, async (tx) => {
      await repo.insertTarget({ tx, values: row });
      // The secret stays out of the chain: the audit log is readable by every admin, forever.
      await audit.append(tx, {
        actor,
        action: 'webhook.create',
        entityType: 'webhook',
        entityId: row.id,
        after: { url, events, description: row.description },
        details: { url, events },
      });
    });
    return { target: toTarget(row), secret };
  }

  async function remove(input: { actor: string; id: string }): Promise<void> {
    await inTransaction(db, async (tx) => {
      const row = await getRow(tx, input.id);
      if (!(await repo.softDeleteTarget({ tx, id: row.id, at: clock.now() })))
        throw new NotFoundError('webhook', input.id);
      await audit.append(tx, {
        actor: input.actor,
        action: 'webhook.delete',
        entityType: 'webhook',
        entityId: row.id,
        before: { url: row.url, events: JSON.parse(row.events) },
        details: { url: row.url },
      });
    });
  }

  /** Writes the event and one delivery per target that wants it; nothing is sent before commit. */
  async function enqueue(
    tx: Executor,
    event: { type: string; payload: unknown; id?: string | undefined; createdAt?: number | undefined },
    targets: repo.TargetRow[],
  ) {
    const now = clock.now();
    const at = event.createdAt ?? now;
    const id = event.id ?? newId('evt', now);
    const type = event.type;
    const body = JSON.stringify({
      id,
      type,
      createdAt: toIso(at),
      payload: event.payload ?? null,
      ...slackFieldsOf(event.payload),
    });
    await repo.insertEvent({ tx, values: { id, type, body, created_at: at } });
    const rows = targets.map((t) => ({
      id: newId('whd', now),
      target_id: t.id,
      event_id: id,
      state: 'pending',
      attempts: 0,
      next_attempt_at: now,
      lease_owner: null,
      lease_until: null,
      last_status: null,
      last_error: null,
      created_at: now,
      finished_at: null,
    }));
    await repo.insertDeliveries({ tx, rows });
    return rows.map((r) => r.id);
  }

  async function emit(tx: Executor, event: WebhookEventInput): Promise<void> {
    const targets = (await repo.listLiveTargets({ tx })).filter((t) => {
      const events = JSON.parse(t.events) as string[];
      return events.length === 0 || events.includes(event.type);
    });
    if (!targets.length) return;
    deliverer.watch(await enqueue(tx, event, targets));
  }

  async function deliveries(q: DeliveriesQuery = {}): Promise<WebhookDelivery[]> {
    const { target, limit } = parseOrThrow(deliveriesQuerySchema, q);
    if (target) await getRow(db, target);
    return viewDeliveries(
      await repo.listDeliveries({ tx: db, ...(target ? { targetId: target } : {}), limit }),
    );
  }

  async function viewDeliveries(
    rows: Awaited<ReturnType<typeof repo.listDeliveries>>,
  ): Promise<WebhookDelivery[]> {
    const attempts = await repo.listAttempts({ tx: db, deliveryIds: rows.map((r) => r.id) });
    return rows.map((r) => ({
      id: r.id,
      targetId: r.target_id,
      eventId: r.event_id,
      eventType: r.event_type,
      state: r.state as WebhookDelivery['state'],
      attempts: r.attempts,
      ...(r.state === 'pending' ? { nextAttemptAt: toIso(r.next_attempt_at) } : {}),
      ...(r.last_status !== null ? { lastStatusCode: r.last_status } : {}),
      ...(r.last_error !== null ? { lastError: r.last_error } : {}),
      createdAt: toIso(r.created_at),
      ...(r.finished_at !== null ? { finishedAt: toIso(r.finished_at) } : {}),
      log: attempts
        .filter((a) => a.delivery_id === r.id)
        .map((a) => ({
          attempt: a.attempt,
          at: toIso(a.at),
          durationMs: a.duration_ms,
          url: a.url,
          ...(a.status_code !== null ? { statusCode: a.status_code } : {}),
          ...(a.error !== null ? { error: a.error } : {}),
        })),
    }));
  }

  /** Sends a 'webhook.test' event to one target now and returns its delivery after the first attempt. */
  async function test(input: { actor: string; id: string }): Promise<WebhookDelivery> {
    const [deliveryId] = await inTransaction(db, async (tx) => {
      const row = await getRow(tx, input.id);
      const ids = await enqueue(
        tx,
        { type: WEBHOOK_TEST_EVENT, payload: { targetId: row.id, message: 'test event from Sextant' } },
        [row],
      );
      await audit.append(tx, {
        actor: input.actor,
        action: 'webhook.test',
        entityType: 'webhook',
        entityId: row.id,
        details: { deliveryId: ids[0] },
      });
      return ids;
    });
    await deliverer.runOnce({ ids: [deliveryId!] });
    const [view] = await viewDeliveries(await repo.listDeliveries({ tx: db, ids: [deliveryId!], limit: 1 }));
    return view!;
  }

  /**
   * Seals every webhook secret still stored in plaintext (targets added before sealing existed);
   * returns how many it sealed. Safe to run at any time and on any number of replicas at once.
   */
  async function sealStoredSecrets(): Promise<number> {
    let sealed = 0;
    for (const row of await repo.listUnsealedTargets({ tx: db })) {
      await inTransaction(db, async (tx) => {
        const current = await repo.findTarget({ tx, id: row.id });
        if (!current || box.isSealed(current.secret)) return;
        await repo.setTargetSecret({ tx, id: row.id, secret: box.seal(current.secret) });
        await audit.append(tx, {
          actor: 'system',
          action: 'webhook.seal_secret',
          entityType: 'webhook',
          entityId: row.id,
          details: { reason: 'secrets at rest are sealed with the server key' },
        });
        sealed += 1;
      });
    }
    return sealed;
  }

  let sealed: Promise<void> | undefined;
  /** sealStoredSecrets once per process; a failed attempt is tried again on the next call. */
  function sealOnce(): Promise<void> {
    sealed ??= sealStoredSecrets().then(
      () => undefined,
      () => {
        sealed = undefined;
      },
    );
    return sealed;
  }

  return {
    /** Writes one outbox delivery per matching target, in the caller's transaction (the event bus calls it). */
    emit,
    add,
    list: async (): Promise<WebhookTarget[]> => (await repo.listLiveTargets({ tx: db })).map(toTarget),
    get: async (id: string): Promise<WebhookTarget> => toTarget(await getRow(db, id)),
    remove,
    deliveries,
    test,
    /**
     * One delivery pass: claims due deliveries and attempts each once. The first pass of a process
     * seals secrets stored in plaintext by earlier versions (the events.deliver job runs it everywhere).
     */
    deliverDue: async () => {
      await sealOnce();
      return deliverer.runOnce();
    },
    /** Starts the retry loop (while a process asks for one), after sealing secrets stored in plaintext. */
    start: () => {
      void sealOnce();
      deliverer.start();
    },
    sealStoredSecrets,
    /** Waits briefly until what this process emitted has been attempted once. */
    flush: (timeoutMs?: number) => deliverer.flush(timeoutMs),
    /** Stops the loop after a short flush; call before closing the store. */
    close: (timeoutMs?: number) => deliverer.close(timeoutMs),
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;

/**
 * A payload that carries a Slack-style message (`slack: {text, blocks}`, e.g. alert.fired when its rule
 * notifies Slack) has it lifted to the envelope's top level, where Slack's incoming webhooks read it;
 * the envelope's own fields are extra keys Slack ignores, and the signature covers the whole body.
 */
function slackFieldsOf(payload: unknown): { text?: string; blocks?: unknown[] } {
  const slack = (payload as { slack?: { text?: unknown; blocks?: unknown } } | null)?.slack;
  if (typeof slack?.text !== 'string' || !Array.isArray(slack.blocks)) return {};
  return { text: slack.text, blocks: slack.blocks };
}
