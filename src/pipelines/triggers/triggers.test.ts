// biome-ignore-all lint/suspicious/noTemplateCurlyInString: trigger params are written in the ${{ }} syntax on purpose
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { describeEachBackend } from '../../../test/support/backends.js';
import { createTestEventBus } from '../../../test/support/events.js';
import { createAuditLog } from '../../audit/index.js';
import { createBlobStore } from '../../blobs/index.js';
import { fakeClock } from '../../core/clock.js';
import { isAppError, NotFoundError } from '../../core/errors.js';
import { createDataDomain } from '../../data/index.js';
import { defineEvent } from '../../events/index.js';
import { inTransaction, openStore, type Store } from '../../store/index.js';
import { createTriggersDomain, type PipelineStarter } from './index.js';

/*
 * Triggers on SQLite and PostgreSQL, against an in-memory pipeline engine (the PipelineStarter port):
 * one run per cron slot however many replicas tick, one run per event however often it is delivered,
 * each concurrency policy, and a new dataset version starting a run with its ref in the params.
 */

/** The pipeline engine as triggers see it: runs in memory, finished by the test. */
function memoryEngine() {
  const runs: Array<{
    runId: string;
    pipeline: string;
    status: string;
    params: Record<string, unknown>;
    triggerKey: string;
    startedAt: string;
  }> = [];
  const starter: PipelineStarter = {
    async start(i) {
      if (i.pipeline === 'missing') throw new NotFoundError('pipeline', i.pipeline);
      const runId = `prun_${runs.length + 1}`;
      runs.push({
        runId,
        pipeline: i.pipeline,
        status: 'running',
        params: i.params ?? {},
        triggerKey: i.trigger.key,
        startedAt: new Date().toISOString(),
      });
      return { runId, status: 'running' };
    },
    async cancel(runId) {
      const r = runs.find((x) => x.runId === runId);
      if (r) r.status = 'cancelled';
    },
    async active(pipeline) {
      return runs
        .filter((r) => r.pipeline === pipeline && r.status === 'running')
        .map((r) => ({ runId: r.runId, startedAt: r.startedAt, triggerKey: r.triggerKey }));
    },
  };
  const finish = (runId: string) => {
    const r = runs.find((x) => x.runId === runId);
    if (r) r.status = 'succeeded';
  };
  return { runs, starter, finish, of: (pipeline: string) => runs.filter((r) => r.pipeline === pipeline) };
}

// M4 declares these on its branch; the trigger subscribes by type string, so a local definition does.
const alertFired = defineEvent({
  type: 'alert.fired',
  emittedBy: 'test',
  description: 'an alert fired',
  schema: z.object({ alertId: z.string(), monitorId: z.string(), action: z.string() }).passthrough(),
});

const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-triggers-'));
afterAll(() => fs.rmSync(blobDir, { recursive: true, force: true }));

let seq = 0;
const uniq = (p: string) => `${p}-${Date.now().toString(36)}-${++seq}`;

describeEachBackend('pipeline triggers', (get, backend) => {
  /** A second pool on the same database, as a second server replica has (SQLite: the same connection). */
  let second: Store;
  beforeAll(async () => {
    second = backend === 'postgres' ? await openStore(get().url, { migrate: false }) : get();
  });
  afterAll(async () => {
    if (backend === 'postgres') await second.close();
  });

  const clock = fakeClock(Date.UTC(2026, 5, 1, 10, 0, 30));

  function replica(store: Store, engine: ReturnType<typeof memoryEngine>) {
    const audit = createAuditLog({ db: store.db, dialect: store.dialect, clock, key: 'k'.repeat(32) });
    const data = createDataDomain({
      db: store.db,
      dialect: store.dialect,
      audit,
      clock,
      blobs: createBlobStore(`file:${blobDir}`),
    });
    const triggers = createTriggersDomain({
      db: store.db,
      clock,
      audit,
      starter: engine.starter,
      datasets: data.versions,
      eventTypes: ['alert.fired'],
    });
    return { triggers, data, audit };
  }

  async function auditCount(store: Store, entityId: string) {
    const r = await store.db
      .selectFrom('audit_entries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('entity_id', '=', entityId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  it('a cron trigger fires once per slot with two replicas ticking the same database', async () => {
    const engine = memoryEngine();
    const a = replica(get(), engine);
    const b = replica(second, engine);
    const pipeline = uniq('nightly');
    const t = await a.triggers.create({
      actor: 'ana',
      name: uniq('every-5'),
      pipeline,
      on: { cron: '*/5 * * * *' },
      params: { slot: '${{ event.slot }}' },
    });
    // Nothing is due before the first slot after creation.
    await Promise.all([a.triggers.tick(), b.triggers.tick()]);
    expect(engine.of(pipeline)).toHaveLength(0);

    clock.advance(5 * 60_000); // 10:05:30: the 10:05 slot is due
    await Promise.all([a.triggers.tick(), b.triggers.tick(), a.triggers.tick()]);
    expect(engine.of(pipeline).map((r) => r.params)).toEqual([{ slot: '2026-06-01T10:05:00.000Z' }]);
    engine.finish(engine.of(pipeline)[0]!.runId);

    // Ticking again inside the same slot starts nothing.
    clock.advance(60_000);
    await Promise.all([b.triggers.tick(), a.triggers.tick()]);
    expect(engine.of(pipeline)).toHaveLength(1);

    clock.advance(4 * 60_000); // 10:10:30
    await Promise.all([b.triggers.tick(), a.triggers.tick()]);
    expect(engine.of(pipeline).map((r) => r.triggerKey)).toEqual([
      'cron:2026-06-01T10:05:00.000Z',
      'cron:2026-06-01T10:10:00.000Z',
    ]);
    const shown = await a.triggers.get(t.name);
    expect(shown.firings.map((f) => f.status)).toEqual(['started', 'started']);
    // Created, then per firing a claim and its outcome.
    expect(await auditCount(get(), t.id)).toBe(5);
  });

  it('the same event delivered twice starts one run, with params mapped from its payload', async () => {
    const engine = memoryEngine();
    const store = get();
    const { triggers } = replica(store, engine);
    const bus = createTestEventBus(store, { definitions: [alertFired], clock });
    bus.subscribe(triggers.subscriber!);
    const pipeline = uniq('retrain');
    await triggers.create({
      actor: 'ana',
      name: uniq('on-alert'),
      pipeline,
      on: { event: { types: ['alert.fired'], where: { action: 'retrain' } } },
      params: {
        reason: 'alert ${{ event.alertId }} on ${{ event.monitorId }}',
        alert: '${{ event.alertId }}',
      },
    });
    const emitted = await inTransaction(store.db, (tx) =>
      bus.emit(tx, 'alert.fired', { alertId: 'ale_1', monitorId: 'mon_1', action: 'retrain' }),
    );
    await inTransaction(store.db, (tx) =>
      bus.emit(tx, 'alert.fired', { alertId: 'ale_2', monitorId: 'mon_1', action: 'notify' }),
    );
    // emit() kicks a delivery pass after commit; flush waits for it.
    await bus.flush();
    await bus.deliverDue();
    expect(engine.of(pipeline).map((r) => r.params)).toEqual([
      { reason: 'alert ale_1 on mon_1', alert: 'ale_1' },
    ]);
    // A redelivery (a crash between the run starting and the delivery being marked done) changes nothing.
    await triggers.subscriber!.handle(emitted.event, { tx: store.db, key: 'x', deliveryId: 'd', attempt: 2 });
    expect(engine.of(pipeline)).toHaveLength(1);
    await bus.close();
  });

  it('concurrency skip: a firing while a run is active is recorded as skipped and starts nothing', async () => {
    const engine = memoryEngine();
    const { triggers } = replica(get(), engine);
    const pipeline = uniq('p');
    const t = await triggers.create({
      actor: 'ana',
      name: uniq('m'),
      pipeline,
      on: { manual: true },
      concurrency: 'skip',
    });
    const first = await triggers.fire({ actor: 'ana', ref: t.name });
    const second = await triggers.fire({ actor: 'ana', ref: t.id });
    expect(first.firing.status).toBe('started');
    expect(second.firing).toMatchObject({
      status: 'skipped',
      error: expect.stringContaining(first.firing.runId!),
    });
    expect(engine.of(pipeline)).toHaveLength(1);
  });

  it('concurrency queue: a firing waits for the active run, then the tick starts it, in order', async () => {
    const engine = memoryEngine();
    const { triggers } = replica(get(), engine);
    const pipeline = uniq('p');
    const t = await triggers.create({
      actor: 'ana',
      name: uniq('m'),
      pipeline,
      on: { manual: true },
      params: { n: '${{ event.n }}' },
    });
    const first = await triggers.fire({ actor: 'ana', ref: t.name, event: { n: 1 } });
    const q2 = await triggers.fire({ actor: 'ana', ref: t.name, event: { n: 2 } });
    const q3 = await triggers.fire({ actor: 'ana', ref: t.name, event: { n: 3 } });
    expect([q2.firing.status, q3.firing.status]).toEqual(['queued', 'queued']);
    await triggers.tick();
    expect(engine.of(pipeline)).toHaveLength(1);
    engine.finish(first.firing.runId!);
    await triggers.tick();
    // One per pass: the one just started is now the active run.
    expect(engine.of(pipeline).map((r) => r.params.n)).toEqual([1, 2]);
    engine.finish(engine.of(pipeline)[1]!.runId);
    await triggers.tick();
    expect(engine.of(pipeline).map((r) => r.params.n)).toEqual([1, 2, 3]);
    expect((await triggers.get(t.name)).firings.every((f) => f.status === 'started')).toBe(true);
  });

  it('concurrency cancel-older: the active run is cancelled and the new one starts', async () => {
    const engine = memoryEngine();
    const { triggers } = replica(get(), engine);
    const pipeline = uniq('p');
    const t = await triggers.create({
      actor: 'ana',
      name: uniq('m'),
      pipeline,
      on: { manual: true },
      concurrency: 'cancel-older',
    });
    const first = await triggers.fire({ actor: 'ana', ref: t.name });
    const second = await triggers.fire({ actor: 'ana', ref: t.name });
    expect(second.firing.status).toBe('started');
    expect(engine.of(pipeline).map((r) => [r.runId, r.status])).toEqual([
      [first.firing.runId, 'cancelled'],
      [second.firing.runId, 'running'],
    ]);
  });

  it('a manual firing with a key fires once; a second call returns the first firing', async () => {
    const engine = memoryEngine();
    const { triggers } = replica(get(), engine);
    const pipeline = uniq('p');
    const t = await triggers.create({ actor: 'ana', name: uniq('m'), pipeline, on: { manual: true } });
    const a = await triggers.fire({ actor: 'ci', ref: t.name, key: 'build-42', via: 'api' });
    const b = await triggers.fire({ actor: 'ci', ref: t.name, key: 'build-42', via: 'api' });
    expect(b).toEqual({ firing: a.firing, duplicate: true });
    expect(engine.of(pipeline)).toHaveLength(1);
  });

  it('a new version of a matching dataset starts one run with its ref; other datasets do not', async () => {
    const engine = memoryEngine();
    const a = replica(get(), engine);
    const b = replica(second, engine);
    const prefix = uniq('credit');
    const pipeline = uniq('ct');
    await a.triggers.create({
      actor: 'ana',
      name: uniq('new-data'),
      pipeline,
      on: { dataset: `${prefix}-*` },
      params: { dataset: '${{ event.dataset }}@${{ event.version }}', version: '${{ event.version }}' },
    });
    clock.advance(1_000);
    const blob = await createBlobStore(`file:${blobDir}`).put('a,b\n1,2\n');
    const file = { path: 'data.csv', size: blob.size, sha256: blob.sha256 };
    await a.data.versions.create({ actor: 'ana', dataset: `${prefix}-train`, files: [file] });
    await a.data.versions.create({ actor: 'ana', dataset: uniq('other'), files: [file] });
    await Promise.all([a.triggers.tick(), b.triggers.tick()]);
    expect(engine.of(pipeline).map((r) => r.params)).toEqual([{ dataset: `${prefix}-train@1`, version: 1 }]);
    await a.triggers.tick();
    expect(engine.of(pipeline)).toHaveLength(1);
  });

  it('bad triggers are refused naming the field, and nothing is stored', async () => {
    const { triggers } = replica(get(), memoryEngine());
    const field = async (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (err) => (isAppError(err) ? `${err.code} ${String(err.details?.field)}` : String(err)),
      );
    const base = { actor: 'ana', pipeline: 'p', name: uniq('bad') };
    expect(await field(triggers.create({ ...base, on: { cron: 'every tuesday' } }))).toBe(
      'VALIDATION_FAILED on.cron',
    );
    expect(await field(triggers.create({ ...base, on: { event: { types: ['nope.happened'] } } }))).toBe(
      'VALIDATION_FAILED on.event.types.0',
    );
    expect(
      await field(
        triggers.create({ ...base, on: { manual: true }, params: { x: '${{ process.env.HOME }}' } }),
      ),
    ).toBe('VALIDATION_FAILED params.x');
    expect(
      await field(triggers.create({ ...base, on: { manual: true }, concurrency: 'wait' as 'skip' })),
    ).toBe('VALIDATION_FAILED concurrency');
    expect((await triggers.list()).some((t) => t.name === base.name)).toBe(false);
    await triggers.create({ ...base, on: { manual: true } });
    expect(await field(triggers.create({ ...base, on: { manual: true } }))).toBe('ALREADY_EXISTS undefined');
    await triggers.remove({ actor: 'ana', ref: base.name });
    expect(await field(triggers.get(base.name))).toBe('NOT_FOUND undefined');
    // A removed name can be used again.
    await triggers.create({ ...base, on: { manual: true } });
  });

  it('a param the occasion does not set fails the firing, naming the param, and starts nothing', async () => {
    const engine = memoryEngine();
    const { triggers } = replica(get(), engine);
    const t = await triggers.create({
      actor: 'ana',
      name: uniq('m'),
      pipeline: 'p',
      on: { manual: true },
      params: { dataset: '${{ event.dataset }}' },
    });
    const r = await triggers.fire({ actor: 'ana', ref: t.name });
    expect(r.firing).toMatchObject({ status: 'failed', error: expect.stringContaining('params.dataset') });
    expect(engine.runs).toHaveLength(0);
  });

  it('a pipeline that refuses to start ends the firing failed with the reason, audited', async () => {
    const engine = memoryEngine();
    const { triggers } = replica(get(), engine);
    const t = await triggers.create({
      actor: 'ana',
      name: uniq('m'),
      pipeline: 'missing',
      on: { manual: true },
    });
    const r = await triggers.fire({ actor: 'ana', ref: t.name });
    expect(r.firing).toMatchObject({
      status: 'failed',
      error: "NOT_FOUND: pipeline 'missing' does not exist",
    });
    const actions = await get()
      .db.selectFrom('audit_entries')
      .select('action')
      .where('entity_id', '=', t.id)
      .orderBy('seq')
      .execute();
    expect(actions.map((a) => a.action)).toEqual(['trigger.create', 'trigger.fire', 'trigger.firing.failed']);
  });
});
