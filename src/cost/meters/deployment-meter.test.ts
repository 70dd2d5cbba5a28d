import { expect, it } from 'vitest';
import { describeEachBackend } from '../../../test/support/backends.js';
import { seedDeployment, seedModelVersion, servedPredictionsOf } from '../../../test/support/cost-seed.js';
import { fakeClock } from '../../core/clock.js';
import { meterDeployments } from './deployment-meter.js';

const MIN = 60_000;

describeEachBackend('the deployment meter', (get) => {
  it('records serving time since the last pass, split over the versions that answered', async () => {
    const db = get().db;
    const t0 = Date.UTC(2026, 9, 1, 12);
    const mv = await seedModelVersion(db, `meter-${Date.now()}`, null, t0);
    const dep = await seedDeployment(db, {
      name: `meter-dep-${Date.now()}`,
      model: 'm',
      modelId: mv.modelId,
      versionId: mv.id,
      predictions: 30,
      servedAt: t0 + 5 * MIN,
    });
    // Two serving processes: one up 10 minutes and still beating, one that ran 4 minutes and stopped.
    await db
      .insertInto('deployment_runtimes')
      .values([
        {
          id: `rt_a${Date.now()}`,
          deployment_id: dep,
          host: 'h1',
          pid: 1,
          address: 'http://h1',
          started_at: t0,
          beat_at: t0 + 10 * MIN,
          stopped_at: null,
        },
        {
          id: `rt_b${Date.now()}`,
          deployment_id: dep,
          host: 'h2',
          pid: 2,
          address: 'http://h2',
          started_at: t0 + 2 * MIN,
          beat_at: t0 + 6 * MIN,
          stopped_at: t0 + 6 * MIN,
        },
      ])
      .execute();
    const clock = fakeClock(t0 + 11 * MIN);
    const first = (await meterDeployments({ db, clock, served: servedPredictionsOf(db) })).filter(
      (r) => r.deploymentId === dep,
    );
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      modelVersionId: mv.id,
      startedAt: t0,
      endedAt: t0 + 10 * MIN,
      instanceSeconds: 14 * 60,
      predictions: 30,
    });
    expect(first[0]!.requestedCpus).toBeCloseTo(1.4, 10);

    // Once recorded, the next pass starts where it ended: nothing is counted twice.
    await db
      .insertInto('cost_usage')
      .values({
        id: `use_${Date.now()}`,
        kind: 'deployment',
        run_id: null,
        job_id: null,
        deployment_id: dep,
        model_version_id: mv.id,
        host: null,
        started_at: t0,
        ended_at: t0 + 10 * MIN,
        wall_seconds: 600,
        cpu_seconds: null,
        peak_memory_bytes: null,
        requested_cpus: 1.4,
        requested_memory_bytes: null,
        gpu_model: null,
        gpu_seconds: null,
        gpu_devices: null,
        instance_type: 'serving',
        instance_seconds: 840,
        predictions: 30,
        notes: null,
        recorded_at: t0,
        recorded_by: 'test',
      })
      .execute();
    expect(
      (await meterDeployments({ db, clock, served: servedPredictionsOf(db) })).filter(
        (r) => r.deploymentId === dep,
      ),
    ).toEqual([]);
    await db
      .updateTable('deployment_runtimes')
      .set({ beat_at: t0 + 15 * MIN })
      .where('deployment_id', '=', dep)
      .where('stopped_at', 'is', null)
      .execute();
    clock.set(t0 + 16 * MIN);
    const next = (await meterDeployments({ db, clock, served: servedPredictionsOf(db) })).filter(
      (r) => r.deploymentId === dep,
    );
    expect(next).toMatchObject([
      { startedAt: t0 + 10 * MIN, endedAt: t0 + 15 * MIN, instanceSeconds: 300, predictions: 0 },
    ]);
    expect(next[0]!.modelVersionId).toBeUndefined();
  });
});
