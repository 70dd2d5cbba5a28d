import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/backends.js';
import { createTestEventBus } from '../../../test/support/events.js';
import { createAuditLog } from '../../audit/index.js';
import { fakeClock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { openStore, type Store } from '../../store/index.js';
import { servingEvents } from '../serving.events.js';
import { feedbackOutcomeSchema } from '../serving.schema.js';
import { createFeedbackService } from './feedback.service.js';
import { LOG_STORAGES, logUnderTest, makeRecord } from './ledger-fixtures.contract.js';
import type { PredictionLedger } from './prediction-ledger.js';
import { createPredictionStore } from './prediction-store.js';

const NOW = Date.UTC(2026, 3, 1);

for (const storage of LOG_STORAGES)
  describeEachBackend(`feedback (${storage})`, (get, backend) => {
    let ledger: PredictionLedger;
    const log = logUnderTest(get, storage);
    const clock = fakeClock(NOW);
    const auditOf = (store: Store) =>
      createAuditLog({ db: store.db, dialect: store.dialect, clock, key: 'feedback-test-key-0123456789' });
    const bus = (store: Store) => createTestEventBus(store, { definitions: servingEvents, clock });
    const feedback = () =>
      createFeedbackService({
        db: get().db,
        clock,
        audit: auditOf(get()),
        events: bus(get()),
        segments: log.segments(),
      });
    const feedbackEntries = async (deploymentId: string) =>
      (await auditOf(get()).list({ entityId: deploymentId })).filter((e) => e.action === 'feedback.record');
    const recordedEvents = async (deploymentId: string) =>
      (await bus(get()).events({ types: ['prediction.feedback.recorded'], limit: 1000 }))
        .map((e) => e.payload as { deploymentId: string })
        .filter((p) => p.deploymentId === deploymentId);
    const predictions = () => createPredictionStore({ db: get().db, clock, segments: log.segments() });
    const labelRows = async (id: string) =>
      get().db.selectFrom('prediction_labels').selectAll().where('prediction_id', '=', id).execute();
    const served = async (overrides: { modelVersionId?: string } = {}) => {
      const r = makeRecord({ deploymentId: newId('dep'), ...overrides });
      await ledger.append(r);
      return r;
    };
    beforeAll(() => {
      ledger = log.openLedger();
    });
    afterAll(async () => {
      await ledger?.close();
    });

    it('records a label joined to the prediction, its deployment and model version', async () => {
      const r = await served({ modelVersionId: 'mv_seven' });
      const out = await feedback().submit({ actor: 'alice', items: [{ prediction_id: r.id, label: 1 }] });
      expect(out).toEqual([{ predictionId: r.id, status: 'recorded' }]);
      for (const o of out) feedbackOutcomeSchema.parse(o);
      expect(await labelRows(r.id)).toEqual([
        {
          prediction_id: r.id,
          label: '1',
          deployment_id: r.deploymentId,
          model_version_id: 'mv_seven',
          received_at: NOW,
          received_by: 'alice',
        },
      ]);
      expect((await predictions().get(r.id)).label).toEqual({
        value: 1,
        receivedAt: new Date(NOW).toISOString(),
      });
      // Monitors hear of it through the outbox, written in the same transaction as the label.
      expect(await recordedEvents(r.deploymentId)).toEqual([
        { deploymentId: r.deploymentId, modelVersionIds: ['mv_seven'], recorded: 1, receivedBy: 'alice' },
      ]);
    });

    it('the same label twice is a duplicate and counts once; a different one is a CONFLICT', async () => {
      const r = await served();
      await feedback().submit({ actor: 'alice', items: [{ prediction_id: r.id, label: 'approved' }] });
      const again = await feedback().submit({
        actor: 'bob',
        items: [{ prediction_id: r.id, label: 'approved' }],
      });
      expect(again).toEqual([{ predictionId: r.id, status: 'duplicate' }]);
      const other = await feedback().submit({
        actor: 'bob',
        items: [{ prediction_id: r.id, label: 'rejected' }],
      });
      expect(other).toMatchObject([{ predictionId: r.id, status: 'failed', error: { code: 'CONFLICT' } }]);
      const rows = await labelRows(r.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ label: '"approved"', received_by: 'alice' });
      // The label is audited once, by its recorder; the duplicate and the conflict change nothing.
      const entries = await feedbackEntries(r.deploymentId);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ actor: 'alice', details: { count: 1, first: r.id } });
    });

    it('an unknown prediction id is NOT_FOUND', async () => {
      const id = newId('pred');
      const out = await feedback().submit({ actor: 'alice', items: [{ prediction_id: id, label: true }] });
      expect(out).toEqual([
        {
          predictionId: id,
          status: 'failed',
          error: { code: 'NOT_FOUND', message: `prediction '${id}' does not exist` },
        },
      ]);
    });

    it('a batch answers each item in order: recorded, duplicate in the batch, conflict, not found, invalid', async () => {
      const a = await served();
      const b = await served();
      const c = await served();
      await feedback().submit({ actor: 'alice', items: [{ prediction_id: c.id, label: 0 }] });
      const unknown = newId('pred');
      const out = await feedback().submit({
        actor: 'alice',
        items: [
          { prediction_id: a.id, label: 1 },
          { prediction_id: a.id, label: 1 },
          { prediction_id: b.id, label: 0.5 },
          { prediction_id: b.id, label: 0.75 },
          { prediction_id: c.id, label: 1 },
          { prediction_id: unknown, label: 1 },
          { prediction_id: a.id, label: Number.NaN },
        ],
      });
      expect(out.map((o) => (o.status === 'failed' ? o.error.code : o.status))).toEqual([
        'recorded',
        'duplicate',
        'recorded',
        'CONFLICT',
        'CONFLICT',
        'NOT_FOUND',
        'VALIDATION_FAILED',
      ]);
      expect(out.map((o) => o.predictionId)).toEqual([a.id, a.id, b.id, b.id, c.id, unknown, a.id]);
      expect(out[6]).toMatchObject({ error: { message: expect.stringContaining('items[6].label') } });
      expect((await labelRows(b.id))[0]?.label).toBe('0.5');
    });

    it('a prediction still buffered by an async ledger is found once beforeLookup flushes it', async () => {
      const lazy = log.openLedger({
        mode: 'async',
        flushIntervalMs: 60_000,
      });
      try {
        const r = makeRecord({ deploymentId: newId('dep') });
        await lazy.append(r);
        const before = await feedback().submit({
          actor: 'alice',
          items: [{ prediction_id: r.id, label: 1 }],
        });
        expect(before).toMatchObject([{ status: 'failed', error: { code: 'NOT_FOUND' } }]);
        let flushes = 0;
        const out = await feedback().submit({
          actor: 'alice',
          items: [
            { prediction_id: r.id, label: 1 },
            { prediction_id: newId('pred'), label: 1 },
          ],
          beforeLookup: async () => {
            flushes++;
            await lazy.flush();
          },
        });
        expect(out.map((o) => o.status)).toEqual(['recorded', 'failed']);
        expect(flushes).toBe(1);
      } finally {
        await lazy.close();
      }
    });

    it('concurrent submissions of one label record it exactly once', async () => {
      // PostgreSQL: two pools really race. SQLite: one connection per process (a second one in the same
      // thread would wait on a lock this thread holds), so the submissions interleave on the store's own.
      const second: Store = backend === 'postgres' ? await openStore(get().url) : get();
      try {
        const r = await served();
        const services = [
          feedback(),
          createFeedbackService({
            db: second.db,
            clock,
            audit: auditOf(second),
            events: bus(second),
            segments: log.segments(),
          }),
        ];
        const outs = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            (services[i % 2] as (typeof services)[number]).submit({
              actor: `user${i}`,
              items: [{ prediction_id: r.id, label: 1 }],
            }),
          ),
        );
        const statuses = outs.flat().map((o) => o.status);
        expect(statuses.filter((s) => s === 'recorded')).toHaveLength(1);
        expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(11);
        const n = await get()
          .db.selectFrom('prediction_labels')
          .select(sql<number>`count(*)`.as('n'))
          .where('prediction_id', '=', r.id)
          .executeTakeFirstOrThrow();
        expect(Number(n.n)).toBe(1);
      } finally {
        if (second !== get()) await second.close();
      }
    });
  });
