import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditVerifyResultSchema } from '../../src/audit/index.js';
import type { Store } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * The segment log is sealed into the audit chain segment by segment: each sealed segment's entry
 * records its blob, row count and ranges, and `audit verify --deep` names a segment whose index row
 * was edited, dropped or slipped in behind the log's back.
 */

const admin = { name: 'ada', role: 'admin' as const };

describeEachBackend('audit verify --deep: the sealed segments of the prediction log', (getStore) => {
  let t: TestApp;
  let store: Store;
  let name: string;
  const ids: string[] = [];

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
  const sealedSegments = () =>
    store.db
      .selectFrom('prediction_segments')
      .selectAll()
      .where('state', '=', 'sealed')
      .orderBy('id')
      .execute();

  beforeAll(async () => {
    store = getStore();
    // Segments of 3 rows: each request of 3 records fills one, and it is sealed after its commit.
    t = await createTestApp(store, {
      SEXTANT_PREDICTION_LOG: 'segments',
      SEXTANT_PREDICTION_SEGMENT_ROWS: '3',
    });
    const model = uniq('segmented');
    await t.services.registry.versions.registerFile({
      actor: admin,
      model,
      filename: 'model.onnx',
      content: tinyOnnxModel([0.5, -0.25, 1]),
    });
    await t.services.registry.aliases.set({ actor: admin, model, alias: 'live', version: 1 });
    name = uniq('scoring');
    await t.services.serving.deployments.create({ actor: 'ada', name, model: `${model}@live` });
    for (let i = 0; i < 2; i++)
      ids.push(
        ...(await predict([
          [1, 2, 3],
          [0, 0, 0],
          [3, 2, 1],
        ])),
      );
    // Sealing runs behind the commits: wait until both segments are sealed.
    for (let i = 0; i < 400 && (await sealedSegments()).length < 2; i++)
      await new Promise((r) => setTimeout(r, 25));
  }, 60_000);
  afterAll(() => t.close());

  it('every served prediction reads back from sealed segments, and each seal is in the chain', async () => {
    expect((await sealedSegments()).map((s) => s.row_count)).toEqual([3, 3]);
    expect(await store.db.selectFrom('predictions').select('id').where('id', 'in', ids).execute()).toEqual(
      [],
    );
    for (const id of ids) expect((await t.services.serving.predictions.get(id)).id).toBe(id);
    const entries = await t.services.audit.list({ entityType: 'prediction_log' });
    expect(entries.filter((e) => e.action === 'predictions.segment.sealed')).toHaveLength(2);
    expect((await verify()).problems).toEqual([]);
  });

  it('an edited, a dropped and a slipped-in segment row are named; put back, the check passes', async () => {
    const [first] = await sealedSegments();
    if (!first) throw new Error('no sealed segment');
    await store.db
      .updateTable('prediction_segments')
      .set({ row_count: 2 })
      .where('id', '=', first.id)
      .execute();
    expect((await verify()).problems).toEqual([
      expect.objectContaining({ kind: 'row-changed', message: expect.stringContaining(first.id) }),
    ]);
    await store.db.deleteFrom('prediction_segments').where('id', '=', first.id).execute();
    expect((await verify()).problems.map((p) => p.kind)).toEqual(['row-missing']);
    await store.db.insertInto('prediction_segments').values(first).execute();
    expect((await verify()).problems).toEqual([]);
    const fake = { ...first, id: `${first.id}x` };
    await store.db.insertInto('prediction_segments').values(fake).execute();
    expect((await verify()).problems.map((p) => p.kind)).toEqual(['row-unrecorded']);
    await store.db.deleteFrom('prediction_segments').where('id', '=', fake.id).execute();
    expect((await verify()).problems).toEqual([]);
  });

  it('gc keeps the Parquet blobs of sealed segments (the index names them)', async () => {
    const report = await t.services.governance.gc.run({ actor: 'ada', delete: true, graceSeconds: 0 });
    const keys = (await sealedSegments()).map((s) => s.blob_key as string);
    expect(keys).toHaveLength(2);
    for (const k of keys) expect(await t.services.blobs.has(k)).toBe(true);
    expect(JSON.stringify(report)).not.toContain(keys[0]);
    for (const id of ids) expect((await t.services.serving.predictions.get(id)).id).toBe(id);
  });

  it('predictions prune (admin) drops the sealed segments, and --deep accepts them as pruned, not missing', async () => {
    const future = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/prune',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ before: new Date(Date.now() + 60_000).toISOString() }),
    });
    expect(future.statusCode, future.body).toBe(400);
    expect(future.body).toContain('before: must be a time in the past');
    await t.services.serving.predictions.get(ids[0] as string);
    await new Promise((r) => setTimeout(r, 5));
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/prune',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ before: new Date().toISOString() }),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ segments: 2, rows: 6 });
    await expect(t.services.serving.predictions.get(ids[0] as string)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await verify()).problems).toEqual([]);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/predictions/prune',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ before: 'last tuesday' }),
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('before');
  });
});
