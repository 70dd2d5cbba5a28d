import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/backends.js';
import { createTestEventBus } from '../../../test/support/events.js';
import { createAuditLog } from '../../audit/index.js';
import { fakeClock, systemClock } from '../../core/clock.js';
import { newId } from '../../core/ids.js';
import { servingEvents } from '../serving.events.js';
import { predictionSchema } from '../serving.schema.js';
import { createFeedbackService } from './feedback.service.js';
import { LOG_STORAGES, logUnderTest, makeRecord } from './ledger-fixtures.contract.js';
import type { PredictionLedger } from './prediction-ledger.js';
import type { PredictionRecord } from './prediction-row.js';
import { createPredictionStore } from './prediction-store.js';

const T0 = Date.UTC(2026, 2, 1, 12, 0, 0);

for (const storage of LOG_STORAGES)
  describeEachBackend(`prediction store (${storage})`, (get) => {
    let ledger: PredictionLedger;
    const log = logUnderTest(get, storage);
    const store = () => createPredictionStore({ db: get().db, clock: systemClock, segments: log.segments() });
    beforeAll(() => {
      ledger = log.openLedger();
    });
    afterAll(async () => {
      await ledger?.close();
    });

    /** 20 predictions one second apart, alternating between two model versions. */
    async function seed(): Promise<{ dep: string; records: PredictionRecord[] }> {
      const dep = newId('dep');
      const records = Array.from({ length: 20 }, (_, i) =>
        makeRecord({
          deploymentId: dep,
          servedAt: T0 + i * 1000,
          modelVersionId: i % 2 === 0 ? 'mv_even' : 'mv_odd',
          version: i % 2 === 0 ? 2 : 3,
        }),
      );
      await Promise.all(records.map((r) => ledger.append(r)));
      return { dep, records };
    }

    it('get returns a prediction as the API shows it; an unknown id is NOT_FOUND naming it', async () => {
      const dep = newId('dep');
      const r = makeRecord({
        deploymentId: dep,
        servedAt: T0,
        latencyUs: 1500,
        shadow: { modelVersionId: 'mv_shadow', outputs: null, error: 'shape mismatch' },
      });
      await ledger.append(r);
      const p = await store().get(r.id);
      expect(predictionSchema.parse(p)).toEqual({
        id: r.id,
        deploymentId: dep,
        modelVersionId: 'mv_test',
        model: 'credit',
        version: 1,
        alias: 'champion',
        role: 'champion',
        servedAt: '2026-03-01T12:00:00.000Z',
        requestKey: null,
        inputs: r.inputs,
        outputs: r.outputs,
        status: 'ok',
        error: null,
        latencyMs: 1.5,
        shadow: { modelVersionId: 'mv_shadow', outputs: null, error: 'shape mismatch' },
        label: null,
      });
      const missing = newId('pred');
      await expect(store().get(missing)).rejects.toMatchObject({
        code: 'NOT_FOUND',
        details: { id: missing },
      });
      expect(await store().find(missing)).toBeUndefined();
    });

    it('list pages newest first with a cursor, every prediction exactly once', async () => {
      const { dep, records } = await seed();
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store().list({ deploymentId: dep, limit: 6, ...(cursor ? { cursor } : {}) });
        seen.push(...page.predictions.map((p) => p.id));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor);
      expect(pages).toBe(4);
      expect(seen).toEqual(records.map((r) => r.id).reverse());
    });

    it('rows of the table and of the segments interleaved in time read as one log: list, scan and counts', async () => {
      const dep = newId('dep');
      // The table's rows (an old ledger) and the log's own, alternating in time.
      const tableLedger = logUnderTest(get, 'table').openLedger();
      const records = Array.from({ length: 30 }, (_, i) =>
        makeRecord({ deploymentId: dep, servedAt: T0 + i * 1000 }),
      );
      for (const [i, r] of records.entries()) await (i % 2 === 0 ? tableLedger : ledger).append(r);
      await tableLedger.close();
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store().list({ deploymentId: dep, limit: 4, ...(cursor ? { cursor } : {}) });
        seen.push(...page.predictions.map((p) => p.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(records.map((r) => r.id).reverse());
      const scanned: string[] = [];
      for await (const page of store().scan({ deploymentId: dep, since: T0 + 3000, batchSize: 4 })) {
        expect(page.length).toBeLessThanOrEqual(4);
        scanned.push(...page.map((p) => p.id));
      }
      expect(scanned).toEqual(records.slice(3).map((r) => r.id));
      const window = { since: new Date(T0 + 5000).toISOString(), until: new Date(T0 + 25_000).toISOString() };
      expect(await store().count({ deploymentId: dep, ...window })).toBe(20);
      expect(await store().countWindow({ deploymentId: dep, since: T0 + 5000, until: T0 + 25_000 })).toBe(20);
    });

    it('list filters by model version (id or <model>@<n>), deployment and a [since, until) window', async () => {
      const { dep, records } = await seed();
      const odd = await store().list({ deploymentId: dep, modelVersionId: 'mv_odd' });
      expect(odd.predictions).toHaveLength(10);
      expect(odd.predictions.every((p) => p.modelVersionId === 'mv_odd')).toBe(true);
      const byRef = await store().list({ deploymentId: dep, modelVersion: 'credit@2' });
      expect(byRef.predictions.map((p) => p.modelVersionId)).toEqual(Array(10).fill('mv_even'));
      const window = await store().list({
        deploymentId: dep,
        since: new Date(T0 + 5000).toISOString(),
        until: new Date(T0 + 9000).toISOString(),
      });
      expect(window.predictions.map((p) => p.id)).toEqual(
        records
          .slice(5, 9)
          .map((r) => r.id)
          .reverse(),
      );
      const other = await store().list({ deploymentId: newId('dep') });
      expect(other).toEqual({ predictions: [], nextCursor: null });
    });

    it('countByVersion counts a window per deployment and answering version (what cost reads)', async () => {
      const { dep } = await seed();
      await ledger.flush();
      expect(await store().countByVersion({ from: T0, to: T0 + 20_000, deploymentId: dep })).toEqual([
        { deploymentId: dep, versionId: 'mv_even', n: 10 },
        { deploymentId: dep, versionId: 'mv_odd', n: 10 },
      ]);
      // [T0 + 3 s, T0 + 8 s): rows 3..7.
      expect(await store().countByVersion({ from: T0 + 3000, to: T0 + 8000, deploymentId: dep })).toEqual([
        { deploymentId: dep, versionId: 'mv_even', n: 2 },
        { deploymentId: dep, versionId: 'mv_odd', n: 3 },
      ]);
      const all = await store().countByVersion({ from: T0, to: T0 + 20_000 });
      expect(all.filter((c) => c.deploymentId === dep).reduce((n, c) => n + c.n, 0)).toBe(20);
    });

    it('list refuses a bad cursor, limit or time, naming the field', async () => {
      await expect(store().list({ cursor: 'not-a-cursor' })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'cursor' },
      });
      await expect(store().list({ limit: 0 })).rejects.toMatchObject({ details: { field: 'limit' } });
      await expect(store().list({ since: 'yesterday' })).rejects.toMatchObject({
        details: { field: 'since' },
      });
      await expect(store().list({ modelVersion: 'credit' })).rejects.toMatchObject({
        details: { field: 'modelVersion' },
      });
    });

    it('scan walks oldest first in pages, filtered, and labelledOnly keeps the labelled ones', async () => {
      const { dep, records } = await seed();
      const pages: string[][] = [];
      for await (const page of store().scan({ deploymentId: dep, batchSize: 7 }))
        pages.push(page.map((p) => p.id));
      expect(pages.map((p) => p.length)).toEqual([7, 7, 6]);
      expect(pages.flat()).toEqual(records.map((r) => r.id));

      const windowed: string[] = [];
      for await (const page of store().scan({
        modelVersionId: 'mv_even',
        since: T0 + 4000,
        until: T0 + 10_000,
      }))
        windowed.push(...page.filter((p) => p.deploymentId === dep).map((p) => p.id));
      expect(windowed).toEqual([records[4]?.id, records[6]?.id, records[8]?.id]);

      const clock = fakeClock(T0 + 60_000);
      const audit = createAuditLog({
        db: get().db,
        dialect: get().dialect,
        clock,
        key: 'scan-test-key-0123456789',
      });
      const feedback = createFeedbackService({
        db: get().db,
        clock,
        segments: log.segments(),
        audit,
        events: createTestEventBus(get(), { definitions: servingEvents, clock }),
      });
      await feedback.submit({
        actor: 'alice',
        items: [
          { prediction_id: records[3]?.id as string, label: 1 },
          { prediction_id: records[11]?.id as string, label: 0 },
        ],
      });
      const labelled: { id: string; label: unknown }[] = [];
      for await (const page of store().scan({ deploymentId: dep, labelledOnly: true, batchSize: 1 }))
        labelled.push(...page.map((p) => ({ id: p.id, label: p.label?.value })));
      expect(labelled).toEqual([
        { id: records[3]?.id, label: 1 },
        { id: records[11]?.id, label: 0 },
      ]);
    });
    it('a failed request (its model server failed) is logged as failed rows, durable or async: listed and exported, never scanned, counted or labelled', async () => {
      const dep = newId('dep');
      const asyncLedger = log.openLedger({
        mode: 'async',
        flushIntervalMs: 5,
      });
      const failedBatch = (servedAt: number, n: number) => {
        const base = makeRecord({ deploymentId: dep, servedAt });
        return {
          ...base,
          ids: Array.from({ length: n }, () => newId('pred')),
          inputs: Array.from({ length: n }, (_, i) => ({ age: 30 + i })),
          outputs: [],
          shadow: null,
          error: { code: 'UPSTREAM_TIMEOUT', message: 'the model server did not answer within 500 ms' },
        };
      };
      const durable = failedBatch(T0, 2);
      const buffered = failedBatch(T0 + 1000, 1);
      await ledger.appendBatch(durable);
      await asyncLedger.appendBatch(buffered);
      await asyncLedger.close();
      const ok = makeRecord({ deploymentId: dep, servedAt: T0 + 2000 });
      await ledger.append(ok);

      const listed = (await store().list({ deploymentId: dep })).predictions;
      expect(listed.map((p) => p.status)).toEqual(['ok', 'failed', 'failed', 'failed']);
      const failed = listed.filter((p) => p.status === 'failed');
      for (const p of failed) {
        expect(predictionSchema.parse(p)).toMatchObject({
          outputs: null,
          error: { code: 'UPSTREAM_TIMEOUT', message: 'the model server did not answer within 500 ms' },
        });
      }
      expect((await store().list({ deploymentId: dep, status: 'failed' })).predictions).toHaveLength(3);
      expect((await store().list({ deploymentId: dep, status: 'ok' })).predictions.map((p) => p.id)).toEqual([
        ok.id,
      ]);
      expect((await store().get(durable.ids[0]!)).status).toBe('failed');
      // Monitoring's scans and counts read answered predictions only; an export asks for all.
      const scanned: string[] = [];
      for await (const page of store().scan({ deploymentId: dep })) scanned.push(...page.map((p) => p.id));
      expect(scanned).toEqual([ok.id]);
      const all: string[] = [];
      for await (const page of store().scan({ deploymentId: dep, includeFailed: true }))
        all.push(...page.map((p) => p.id));
      expect(all).toHaveLength(4);
      expect(await store().count({ deploymentId: dep })).toBe(1);

      const clock = fakeClock(T0 + 10_000);
      const feedback = createFeedbackService({
        db: get().db,
        clock,
        segments: log.segments(),
        audit: createAuditLog({
          db: get().db,
          dialect: get().dialect,
          clock,
          key: 'failed-test-key-0123456789',
        }),
        events: createTestEventBus(get(), { definitions: servingEvents, clock }),
      });
      const [refused, recorded] = await feedback.submit({
        actor: 'alice',
        items: [
          { prediction_id: durable.ids[0]!, label: 1 },
          { prediction_id: ok.id, label: 1 },
        ],
      });
      expect(refused).toMatchObject({ status: 'failed', error: { code: 'CONFLICT' } });
      expect(refused?.status === 'failed' && refused.error.message).toMatch(
        /UPSTREAM_TIMEOUT.*no output to label/,
      );
      expect(recorded).toMatchObject({ status: 'recorded' });
    });
  });
