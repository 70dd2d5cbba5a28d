import { afterAll, beforeAll, expect, it } from 'vitest';
import { PREDICTIONS_SEAL_JOB, SYSTEM_QUEUE } from '../../src/app/index.js';
import {
  auditVerifyResultSchema,
  createPredictionSealer,
  type PredictionSealer,
} from '../../src/audit/index.js';
import { systemClock } from '../../src/core/clock.js';
import type { Store } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * Issue 16, finding 3 (predictions deleted): the prediction log is sealed into the audit chain by a
 * background job, and `audit verify --deep` reads every sealed block back, naming a prediction row
 * edited, deleted or slipped in behind the log's back.
 */

const admin = { name: 'ada', role: 'admin' as const };

describeEachBackend('audit verify --deep: the sealed prediction log', (getStore) => {
  let t: TestApp;
  let store: Store;
  let sealer: PredictionSealer;
  let name: string;
  let ids: string[] = [];

  const predict = async (rows: number[][]) => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/deployments/${name}/predict`,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ instances: rows }),
    });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { predictions: { prediction_id: string }[] }).predictions.map(
      (p) => p.prediction_id,
    );
  };
  const verify = async () => auditVerifyResultSchema.parse(await t.services.audit.verify({ deep: true }));
  const rowOf = (id: string) =>
    store.db.selectFrom('predictions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  beforeAll(async () => {
    store = getStore();
    // Rows of the `predictions` table (logged before the segment log, or with SEXTANT_PREDICTION_LOG=table);
    // segments are sealed into the chain as they are written (audit-deep-segments.test.ts).
    t = await createTestApp(store, { SEXTANT_PREDICTION_LOG: 'table' });
    const model = uniq('sealed');
    await t.services.registry.versions.registerFile({
      actor: admin,
      model,
      filename: 'model.onnx',
      content: tinyOnnxModel([0.5, -0.25, 1]),
    });
    await t.services.registry.aliases.set({ actor: admin, model, alias: 'live', version: 1 });
    name = uniq('scoring');
    await t.services.serving.deployments.create({ actor: 'ada', name, model: `${model}@live` });
    ids = [
      ...(await predict([
        [1, 2, 3],
        [0, 0, 0],
        [3, 2, 1],
      ])),
      ...(await predict([[1, 1, 1]])),
    ];
    sealer = createPredictionSealer({
      db: store.db,
      dialect: store.dialect,
      audit: t.services.audit,
      clock: systemClock,
    });
  }, 60_000);
  afterAll(() => t.close());

  it('the seal job is a system job; a seal covers the rows served before it, once', async () => {
    const job = await t.services.jobs.enqueue(PREDICTIONS_SEAL_JOB, {});
    expect(job.queue).toBe(SYSTEM_QUEUE);
    // With no grace every committed row is sealed; sealing again finds nothing new.
    expect(await sealer.seal({ graceMs: 0 })).toBe(ids.length);
    expect(await sealer.seal({ graceMs: 0 })).toBe(0);
    const [entry] = await t.services.audit.list({ entityType: 'prediction_log', limit: 1 });
    expect(entry?.action).toBe('predictions.sealed');
    expect(entry?.details).toMatchObject({ predictionSeal: { count: ids.length } });
    expect((await verify()).problems).toEqual([]);
  });

  it('an edited prediction row is named, and the check passes again once it is put back', async () => {
    const id = ids[1]!;
    const original = await rowOf(id);
    await store.db
      .updateTable('predictions')
      .set({ outputs: '{"prediction":42}' })
      .where('id', '=', id)
      .execute();
    const broken = await verify();
    expect(broken.ok).toBe(false);
    expect(broken.problems).toEqual([
      expect.objectContaining({
        kind: 'row-changed',
        message: expect.stringMatching(/^predictions .* differ/),
      }),
    ]);
    await store.db
      .updateTable('predictions')
      .set({ outputs: original.outputs })
      .where('id', '=', id)
      .execute();
    expect((await verify()).problems).toEqual([]);
  });

  it('a deleted prediction row is named', async () => {
    const id = ids[0]!;
    const original = await rowOf(id);
    await store.db.deleteFrom('predictions').where('id', '=', id).execute();
    const broken = await verify();
    expect(broken.ok).toBe(false);
    expect(broken.problems.map((p) => p.kind)).toContain('row-missing');
    expect(broken.problems.map((p) => p.message).join('\n')).toContain(`${id} is gone`);
    await store.db.insertInto('predictions').values(original).execute();
    expect((await verify()).problems).toEqual([]);
  });

  it('a prediction slipped into a sealed range is named; rows served after the last seal are not problems', async () => {
    const inside = await rowOf(ids[1]!);
    const fake = { ...inside, id: `${inside.id.slice(0, -1)}~` };
    await store.db.insertInto('predictions').values(fake).execute();
    const broken = await verify();
    expect(broken.ok).toBe(false);
    expect(broken.problems.map((p) => p.kind)).toContain('row-unrecorded');
    await store.db.deleteFrom('predictions').where('id', '=', fake.id).execute();
    await predict([[2, 2, 2]]);
    expect((await verify()).problems).toEqual([]);
  });
});
