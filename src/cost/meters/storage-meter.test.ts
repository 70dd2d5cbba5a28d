import { expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/backends.js';
import {
  seedExperiment,
  seedModelVersion,
  seedRuns,
  servedPredictionsOf,
} from '../../../test/support/cost-seed.js';
import { createAuditLog } from '../../audit/index.js';
import { fakeClock } from '../../core/clock.js';
import type { Db } from '../../store/index.js';
import { createCostDomain } from '../index.js';
import { meterStorage } from './storage-meter.js';

const DAY = 86_400_000;
const GIB = 2 ** 30;
const sha = (c: string) => c.repeat(64);

async function seedDatasetVersions(db: Db, name: string, files: [string, number][][], now: number) {
  const datasetId = `ds_${name}`;
  await db
    .insertInto('datasets')
    .values({ id: datasetId, name, created_at: now, created_by: 'seed', deleted_at: null })
    .execute();
  const ids: string[] = [];
  for (const [i, manifest] of files.entries()) {
    const id = `dsv_${name}_${i + 1}`;
    ids.push(id);
    await db
      .insertInto('dataset_versions')
      .values({
        id,
        dataset_id: datasetId,
        number: i + 1,
        digest: sha(String(i)),
        created_at: now,
        created_by: 'seed',
        source: null,
        description: null,
        owner: null,
        license: null,
        pii: 0,
        produced_by_run_id: null,
        file_count: manifest.length,
        total_size: manifest.reduce((s, [, n]) => s + n, 0),
        deleted_at: null,
      })
      .execute();
    await db
      .insertInto('dataset_version_files')
      .values(manifest.map(([c, size], j) => ({ version_id: id, path: `f${j}`, size, sha256: sha(c) })))
      .execute();
  }
  return ids;
}

describeEachBackend('the storage meter', (get) => {
  it('shares deduplicated blobs evenly between referrers; the report prices them per GiB-month', async () => {
    const { db, dialect } = get();
    const t0 = Date.UTC(2026, 9, 1);
    // Blob a (1 GiB) is in both dataset versions; b (0.5 GiB) in v1 only; c (0.25 GiB) is a run artifact
    // that a model version's files list too; d (0.25 GiB) is listed twice by v2 (counts once).
    const [v1, v2] = await seedDatasetVersions(
      db,
      'clicks',
      [
        [
          ['a', GIB],
          ['b', GIB / 2],
        ],
        [
          ['a', GIB],
          ['d', GIB / 4],
          ['d', GIB / 4],
        ],
      ],
      t0,
    );
    const exp = await seedExperiment(db, 'storage-exp', t0);
    const [run] = await seedRuns(db, [{ experimentId: exp.id }], t0);
    await db
      .insertInto('artifacts')
      .values({ run_id: run!, path: 'model.onnx', sha256: sha('c'), size: GIB / 4, created_at: t0 })
      .execute();
    const mv = await seedModelVersion(db, 'clicker', run!, t0);
    await db
      .updateTable('model_versions')
      .set({ files: JSON.stringify([{ path: 'model.onnx', sha256: sha('c'), size: GIB / 4 }]) })
      .where('id', '=', mv.id)
      .execute();

    const clock = fakeClock(t0 + 30 * DAY);
    const records = await meterStorage({ db, clock });
    const bytesOf = (pred: (r: (typeof records)[number]) => boolean) =>
      records.filter(pred).reduce((s, r) => s + (r.storageBytes ?? 0), 0);
    expect(bytesOf((r) => r.datasetVersionId === v1)).toBe(GIB / 2 + GIB / 2);
    expect(bytesOf((r) => r.datasetVersionId === v2)).toBe(GIB / 2 + GIB / 4);
    expect(bytesOf((r) => r.runId === run)).toBe(GIB / 8);
    expect(bytesOf((r) => r.modelVersionId === mv.id)).toBe(GIB / 8);
    // The shares add up to the unique bytes stored: a + b + c + d.
    expect(bytesOf(() => true)).toBe(GIB + GIB / 2 + GIB / 4 + GIB / 4);
    expect(records.every((r) => r.kind === 'storage' && r.endedAt === t0 + 30 * DAY)).toBe(true);

    // Recorded, then priced: 2 GiB held for 730 hours at 0.10 per GiB-month is 0.20.
    const audit = createAuditLog({ db, dialect, clock, key: 'storage-test-audit-key-0123456789' });
    const cost = createCostDomain({ db, audit, clock, served: servedPredictionsOf(db) });
    await cost.prices.set({
      actor: 'alice',
      yaml: 'currency: EUR\nprices:\n  - { resource: storage_gib_month, price: 0.10 }\n',
    });
    await cost.usage.recordMany({
      actor: 'system',
      records: records.map((r) => ({ ...r, startedAt: t0, endedAt: t0 + 730 * 3_600_000 })),
    });
    const byExp = await cost.reports.report({ by: 'experiment', from: t0, to: t0 + 730 * 3_600_000 });
    const amount = (key: string) => byExp.groups.find((g) => g.key === key)?.amount;
    expect(amount('dataset:clicks')).toBe(0.18);
    expect(amount('storage-exp')).toBe(0.01);
    expect(amount('(model versions)')).toBe(0.01);
    expect(byExp.total).toBe(0.2);
    expect(byExp.unpriced).toEqual([]);
    const byModel = await cost.reports.report({ by: 'model', from: t0, to: t0 + 730 * 3_600_000 });
    // The run's share goes to the version it produced, and the version's own share too.
    // 0.025 rounds either way against the datasets' 0.175: the cents add up to the total.
    expect(byModel.groups.find((g) => g.key === 'clicker@1')?.amount).toBeCloseTo(0.025, 1);
    expect(byModel.groups.reduce((s, g) => s + Math.round(g.amount * 100), 0)).toBe(20);
    expect(byModel.groups.find((g) => g.key === 'clicker@1')?.storageGibMonths).toBeCloseTo(0.25, 9);

    // The next pass starts where the recorded ones ended: nothing is counted twice.
    const next = await meterStorage({ db, clock: fakeClock(t0 + 731 * 3_600_000) });
    expect(next.every((r) => r.startedAt === t0 + 730 * 3_600_000)).toBe(true);
  });
});
