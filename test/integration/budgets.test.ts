import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type CoreServices, createCoreServices } from '../../src/app/core-services.js';
import { createBlobStore } from '../../src/blobs/index.js';
import { fakeClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import { isAppError } from '../../src/core/errors.js';
import {
  type BudgetsDomain,
  budgetEvents,
  type CostLedger,
  createBudgetsDomain,
} from '../../src/cost/budgets/index.js';
import { createInProcessJobQueue, type Job, type JobQueue } from '../../src/jobs/index.js';
import type { Store } from '../../src/store/index.js';
import { describeEachBackend } from '../support/backends.js';
import { createTestEventBus } from '../support/events.js';

/*
 * Budgets against a real database (SQLite and PostgreSQL) with an in-memory spend ledger (the port C1's
 * meters implement): unknown scopes are refused, each limit fires once per period, and an exhausted
 * budget refuses new jobs in its scope and holds queued ones until it is raised.
 */

const HOUR = 3_600_000;
let seq = 0;
const uniq = (p: string) => `${p}-${Date.now().toString(36)}-${++seq}`;

/** Spend per scope, as the ledger would attribute it; the tests set it. */
function memoryLedger() {
  const spend = new Map<string, number>();
  const ledger: CostLedger = {
    spent: async ({ scope }) => {
      const amount = spend.get(`${scope.kind}:${scope.value}`);
      return { amount: amount ?? 0, currency: 'USD', usageRows: amount === undefined ? 0 : 1 };
    },
  };
  return {
    ledger,
    set: (kind: string, value: string, amount: number) => spend.set(`${kind}:${value}`, amount),
  };
}

describeEachBackend('budgets', (get) => {
  // Noon UTC on 10 March 2026: half of the day has passed (the forecast doubles the day's spend).
  const clock = fakeClock(Date.UTC(2026, 2, 10, 12));
  const spend = memoryLedger();
  let home: string;
  let core: CoreServices;
  let budgets: BudgetsDomain;
  let queue: JobQueue;
  let store: Store;

  beforeAll(() => {
    store = get();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-budgets-'));
    const config = loadConfig({ SEXTANT_HOME: home });
    const blobs = createBlobStore(`file:${path.join(home, 'blobs')}`);
    core = createCoreServices({ store, blobs, clock, config, auditKey: 'test-audit-key-0123456789' });
    const events = createTestEventBus(store, { definitions: budgetEvents, clock });
    budgets = createBudgetsDomain({
      db: store.db,
      audit: core.audit,
      clock,
      events,
      ledger: spend.ledger,
      experiments: core.experiments,
      runs: core.runs,
    });
    queue = createInProcessJobQueue(
      { db: store.db, dialect: store.dialect, audit: core.audit, clock, admission: budgets.admission },
      { pollMs: 20, holdRecheckMs: 1_000 },
    );
  });
  afterAll(async () => {
    await queue.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  /** The ledger knows experiments by name; budgets by id. */
  const names = new Map<string, string>();
  const experiment = async () => {
    const e = await core.experiments.create({ actor: 'ana', name: uniq('exp') });
    names.set(e.id, e.name);
    return e.id;
  };
  const nameOf = (id: string) => names.get(id) ?? id;
  const eventsOf = async (type: string, budgetId: string) =>
    (await store.db.selectFrom('events').select(['payload']).where('type', '=', type).execute())
      .map((r) => JSON.parse(r.payload) as { budgetId: string; periodStart: string; spent: number })
      .filter((p) => p.budgetId === budgetId);
  const auditCount = async () =>
    Number(
      (
        await store.db
          .selectFrom('audit_entries')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  async function refusal(p: Promise<unknown>) {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isAppError(err)) throw new Error(`expected an AppError, got ${String(err)}`);
    return err;
  }

  describe('a budget on a scope that does not exist', () => {
    it('is refused with a named error, and nothing is written', async () => {
      const before = await auditCount();
      const exp = await refusal(
        budgets.create({
          actor: 'ana',
          name: uniq('b'),
          scope: { kind: 'experiment', value: '987654' },
          period: 'month',
          amount: 10,
        }),
      );
      expect(exp.code).toBe('NOT_FOUND');
      expect(exp.message).toContain("experiment '987654'");
      const team = await refusal(
        budgets.create({
          actor: 'ana',
          name: uniq('b'),
          scope: { kind: 'team', value: 'nobody' },
          period: 'month',
          amount: 10,
        }),
      );
      expect(team.code).toBe('NOT_FOUND');
      expect(team.message).toContain("team 'nobody'");
      const tag = await refusal(
        budgets.create({
          actor: 'ana',
          name: uniq('b'),
          scope: { kind: 'tag', value: 'project' },
          period: 'month',
          amount: 10,
        }),
      );
      expect(tag.code).toBe('VALIDATION_FAILED');
      expect(tag.details?.field).toBe('body.scope.value');
      expect(await auditCount()).toBe(before);
    });

    it('is created with a warning when asked to allow it (a team before its first run)', async () => {
      const made = await budgets.create({
        actor: 'ana',
        name: uniq('b'),
        scope: { kind: 'tag', value: 'project=future' },
        period: 'week',
        amount: 10,
        allowUnknownScope: true,
      });
      expect(made.warnings).toHaveLength(1);
      expect(made.warnings[0]).toContain('project=future');
      // A tag some run carries needs no allowance.
      const exp = await experiment();
      await core.runs.create({ actor: 'ana', experimentId: exp, tags: { project: 'churn' } });
      const ok = await budgets.create({
        actor: 'ana',
        name: uniq('b'),
        scope: { kind: 'tag', value: 'project=churn' },
        period: 'week',
        amount: 5,
      });
      expect(ok.warnings).toEqual([]);
    });
  });

  describe('the soft limit', () => {
    it('emits one event per period, and the forecast is linear on the period so far', async () => {
      const exp = await experiment();
      const { budget } = await budgets.create({
        actor: 'ana',
        name: uniq('b'),
        scope: { kind: 'experiment', value: exp },
        period: 'day',
        amount: 10,
        softShare: 0.8,
      });
      spend.set('experiment', nameOf(exp), 5);
      await budgets.checkAll();
      expect(await eventsOf('budget.soft_limit_reached', budget.id)).toHaveLength(0);
      const shown = await budgets.get(budget.id);
      expect(shown.current?.spent).toBe(5);
      // Noon: half the day gone, so the day ends at twice the spend so far.
      expect(shown.current?.forecast).toBeCloseTo(10, 9);

      spend.set('experiment', nameOf(exp), 8.5);
      const first = await budgets.checkOne(budget.id);
      expect(first?.emitted).toEqual(['budget.soft_limit_reached']);
      spend.set('experiment', nameOf(exp), 9);
      await budgets.checkAll();
      await budgets.checkAll();
      const once = await eventsOf('budget.soft_limit_reached', budget.id);
      expect(once).toHaveLength(1);
      expect(once[0]?.spent).toBe(8.5);

      // The next day is a new period: the mark of the old one does not count.
      clock.advance(24 * HOUR);
      spend.set('experiment', nameOf(exp), 8.1);
      await budgets.checkAll();
      const twice = await eventsOf('budget.soft_limit_reached', budget.id);
      expect(twice.map((e) => e.periodStart)).toEqual([
        '2026-03-10T00:00:00.000Z',
        '2026-03-11T00:00:00.000Z',
      ]);
      expect(await eventsOf('budget.hard_limit_reached', budget.id)).toHaveLength(0);
    });
  });

  describe('an exhausted budget', () => {
    const name = uniq('test.work');
    const ran: string[] = [];
    beforeAll(() => {
      queue.define({
        name,
        payload: z.object({ exp: z.string().optional(), run: z.string().optional(), label: z.string() }),
        scopeOf: (p) => ({ ...(p.exp ? { experimentId: p.exp } : {}), ...(p.run ? { runId: p.run } : {}) }),
        handler: async (p) => {
          ran.push(p.label);
          return { ok: true };
        },
      });
    });
    const until = async (id: string, ok: (j: Job) => boolean): Promise<Job> => {
      for (let i = 0; i < 400; i++) {
        const j = await queue.get(id);
        if (ok(j)) return j;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`job ${id} never got there: ${JSON.stringify(await queue.get(id))}`);
    };

    it('refuses new jobs in its scope, holds queued ones (not failed), and lets them run once raised', async () => {
      const exp = await experiment();
      const other = await experiment();
      const { budget } = await budgets.create({
        actor: 'ana',
        name: uniq('b'),
        scope: { kind: 'experiment', value: exp },
        period: 'month',
        amount: 10,
      });
      const queued = await queue.enqueue(name, { exp, label: 'queued' });

      spend.set('experiment', nameOf(exp), 12);
      const check = await budgets.checkOne(budget.id);
      expect(check?.status).toBe('exhausted');
      expect(check?.emitted).toEqual(['budget.soft_limit_reached', 'budget.hard_limit_reached']);
      expect((await budgets.get(budget.id)).current?.exhausted).toBe(true);

      // The next trial is refused with a clear error, and no job row is written for it.
      const before = (await queue.list({ name, limit: 1000 })).jobs.length;
      const err = await refusal(queue.enqueue(name, { exp, label: 'next' }));
      expect(err.code).toBe('BUDGET_EXCEEDED');
      expect(err.status).toBe(402);
      expect(err.message).toContain(budget.name);
      expect((await queue.list({ name, limit: 1000 })).jobs.length).toBe(before);

      // The queued one is held: still queued, its reason shown, no attempt spent.
      const worker = queue.work({ queues: ['default'], concurrency: 2 });
      try {
        const held = await until(queued.id, (j) => j.heldReason != null);
        expect(held.status).toBe('queued');
        expect(held.attempts).toBe(0);
        expect(held.heldReason).toContain(budget.name);
        expect((await queue.depth()).find((d) => d.queue === 'default')?.held).toBeGreaterThanOrEqual(1);
        // Work outside the scope goes on meanwhile.
        const free = await queue.enqueue(name, { exp: other, label: 'other' });
        await until(free.id, (j) => j.status === 'completed');
        expect(ran).not.toContain('queued');

        // Raised above the spend: the update re-checks at once; the held job runs at its next look.
        const raised = await budgets.update({ actor: 'ana', ref: budget.id, amount: 20 });
        expect(raised.current?.exhausted).toBe(false);
        clock.advance(2_000);
        const done = await until(queued.id, (j) => j.status === 'completed');
        expect(done.heldReason).toBeNull();
        expect(ran).toContain('queued');
        expect((await queue.enqueue(name, { exp, label: 'after' })).status).toBe('queued');
      } finally {
        await worker.close();
      }
      const actions = (await core.audit.list({ entityType: 'budget', entityId: budget.id, limit: 20 })).map(
        (e) => e.action,
      );
      expect(actions).toEqual(
        expect.arrayContaining(['budget.create', 'budget.exhausted', 'budget.update', 'budget.released']),
      );
    });

    it("reaches jobs through their run's tags: a team budget refuses the sweep run's next trial", async () => {
      const exp = await experiment();
      const team = uniq('team');
      const sweep = await core.runs.create({ actor: 'ana', experimentId: exp, tags: { team } });
      const { budget } = await budgets.create({
        actor: 'ana',
        name: uniq('b'),
        scope: { kind: 'team', value: team },
        period: 'week',
        amount: 1,
      });
      spend.set('team', team, 1);
      await budgets.checkAll();
      const err = await refusal(queue.enqueue(name, { exp, run: sweep.id, label: 'trial' }));
      expect(err.code).toBe('BUDGET_EXCEEDED');
      expect(err.details?.budgetId).toBe(budget.id);
      // Removed, it refuses nothing.
      await budgets.remove({ actor: 'ana', ref: budget.name });
      const job = await queue.enqueue(name, { exp, run: sweep.id, label: 'trial' });
      expect(job.scope).toMatchObject({ experimentId: exp, runId: sweep.id, tags: { team } });
      expect((await eventsOf('budget.hard_limit_reached', budget.id)).length).toBe(1);
    });
  });
});
