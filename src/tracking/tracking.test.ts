import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/backends.js';
import { createAuditLog } from '../audit/index.js';
import { createBlobStore } from '../blobs/index.js';
import { fakeClock } from '../core/clock.js';
import { normalizeArtifactPath } from './artifact-path.js';
import { createArtifactService, createExperimentService, createRunService, type LogBatch } from './index.js';

const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-tracking-'));
afterAll(() => fs.rmSync(blobDir, { recursive: true, force: true }));

describeEachBackend('tracking services', (get) => {
  let n = 0;
  const make = () => {
    const store = get();
    const clock = fakeClock(Date.UTC(2026, 0, 1) + n++ * 1000);
    const audit = createAuditLog({ db: store.db, dialect: store.dialect, clock, key: 'k'.repeat(32) });
    const deps = {
      db: store.db,
      dialect: store.dialect,
      audit,
      clock,
      blobs: createBlobStore(`file:${blobDir}`),
    };
    return {
      audit,
      clock,
      experiments: createExperimentService(deps),
      runs: createRunService(deps),
      artifacts: createArtifactService(deps),
    };
  };
  const actor = 'tester';
  const logMetrics = (s: ReturnType<typeof make>, runId: string, metrics: LogBatch['metrics']) =>
    s.runs.logBatch({ actor, runId, metrics });
  const newRun = async (s: ReturnType<typeof make>) => {
    const e = await s.experiments.create({ actor, name: `exp-${Math.random().toString(36).slice(2)}` });
    return s.runs.create({ actor, experimentId: e.id });
  };

  it('a param once logged never changes, and a refused batch stores nothing of itself', async () => {
    const s = make();
    const run = await newRun(s);
    await s.runs.logBatch({ actor, runId: run.id, params: [{ key: 'lr', value: '0.01' }] });
    await s.runs.logBatch({ actor, runId: run.id, params: [{ key: 'lr', value: '0.01' }] });
    const entriesBefore = (await s.audit.verify()).entries;
    await expect(
      s.runs.logBatch({
        actor,
        runId: run.id,
        params: [{ key: 'lr', value: '0.1' }],
        metrics: [{ key: 'acc', value: 0.5, timestamp: 1, step: 0 }],
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    const after = await s.runs.get(run.id);
    expect(after.params).toEqual({ lr: '0.01' });
    expect(after.metrics).toEqual([]);
    expect((await s.audit.verify()).entries).toBe(entriesBefore);
  });

  it("the latest metric is MLflow's: highest step, then newest timestamp, then largest value", async () => {
    const s = make();
    const run = await newRun(s);
    await logMetrics(s, run.id, [
      { key: 'loss', value: 0.9, timestamp: 500, step: 5 },
      { key: 'loss', value: 0.1, timestamp: 900, step: 2 },
      { key: 'acc', value: 0.3, timestamp: 100, step: 1 },
      { key: 'acc', value: 0.7, timestamp: 100, step: 1 },
    ]);
    await logMetrics(s, run.id, [{ key: 'acc', value: 0.2, timestamp: 200, step: 1 }]);
    // An older point sent later must not move "latest" backwards.
    await logMetrics(s, run.id, [{ key: 'loss', value: 0.05, timestamp: 1000, step: 4 }]);
    const r = await s.runs.get(run.id);
    expect(r.metrics).toEqual([
      { key: 'acc', value: 0.2, timestamp: 200, step: 1 },
      { key: 'loss', value: 0.9, timestamp: 500, step: 5 },
    ]);
    const history = await s.runs.metricHistory({ runId: run.id, key: 'loss', maxResults: 10 });
    expect(history.metrics.map((m) => m.step)).toEqual([2, 4, 5]);
  });

  it('a metric with a timestamp or step out of range is refused by its index, and the batch stores nothing', async () => {
    const s = make();
    const run = await newRun(s);
    const entriesBefore = (await s.audit.verify()).entries;
    const good = { key: 'loss', value: 1, timestamp: 1_000, step: 0 };
    await expect(
      logMetrics(s, run.id, [good, { key: 'loss', value: 2, timestamp: -5, step: 1 }]),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'metrics[1].timestamp' } });
    await expect(
      logMetrics(s, run.id, [good, good, { key: 'loss', value: 2, timestamp: 1_000, step: 2 ** 60 }]),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'metrics[2].step' } });
    await expect(
      logMetrics(s, run.id, [{ key: 'loss', value: 2, timestamp: 1.5, step: 0 }]),
    ).rejects.toMatchObject({ details: { field: 'metrics[0].timestamp' } });
    expect((await s.runs.get(run.id)).metrics).toEqual([]);
    expect((await s.audit.verify()).entries).toBe(entriesBefore);
    // Bounds themselves are accepted.
    await logMetrics(s, run.id, [{ key: 'loss', value: 3, timestamp: 0, step: Number.MAX_SAFE_INTEGER }]);
    expect((await s.runs.get(run.id)).metrics).toEqual([
      { key: 'loss', value: 3, timestamp: 0, step: Number.MAX_SAFE_INTEGER },
    ]);
  });

  it('NaN and infinities are kept as MLflow spells them', async () => {
    const s = make();
    const run = await newRun(s);
    await logMetrics(s, run.id, [
      { key: 'a', value: Number.NaN, timestamp: 1, step: 0 },
      { key: 'b', value: Number.POSITIVE_INFINITY, timestamp: 1, step: 0 },
      { key: 'c', value: Number.NEGATIVE_INFINITY, timestamp: 1, step: 0 },
    ]);
    const values = Object.fromEntries((await s.runs.get(run.id)).metrics.map((m) => [m.key, m.value]));
    expect(values).toEqual({ a: 'NaN', b: 'Infinity', c: '-Infinity' });
  });

  it('deleting an experiment deletes its runs softly; restoring brings both back', async () => {
    const s = make();
    const run = await newRun(s);
    await s.experiments.delete(actor, run.experimentId);
    expect((await s.runs.get(run.id)).lifecycleStage).toBe('deleted');
    await expect(s.runs.create({ actor, experimentId: run.experimentId })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(
      s.runs.logBatch({ actor, runId: run.id, tags: [{ key: 't', value: 'v' }] }),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await s.experiments.restore(actor, run.experimentId);
    expect((await s.runs.get(run.id)).lifecycleStage).toBe('active');
    expect((await s.experiments.get(run.experimentId)).lifecycleStage).toBe('active');
  });

  it('experiment names are unique, and unknown ids are NOT_FOUND', async () => {
    const s = make();
    await s.experiments.create({ actor, name: 'unique-name' });
    await expect(s.experiments.create({ actor, name: 'unique-name' })).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    await expect(s.experiments.get('987654')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(s.runs.get('run_nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('artifacts list one folder level at a time and come back byte-identical', async () => {
    const s = make();
    const run = await newRun(s);
    await s.artifacts.put({
      actor,
      runId: run.id,
      path: 'model/weights.bin',
      content: Buffer.from([0, 1, 2, 255]),
    });
    await s.artifacts.put({ actor, runId: run.id, path: 'model/conf/a.json', content: '{"a":1}' });
    await s.artifacts.put({ actor, runId: run.id, path: 'readme.txt', content: 'hello' });
    expect((await s.artifacts.list(run.id)).map((e) => [e.path, e.isDir])).toEqual([
      ['model', true],
      ['readme.txt', false],
    ]);
    expect((await s.artifacts.list(run.id, 'model')).map((e) => e.path)).toEqual([
      'model/conf',
      'model/weights.bin',
    ]);
    const a = await s.artifacts.get(run.id, 'model/weights.bin');
    const chunks: Buffer[] = [];
    for await (const c of a.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks)).toEqual(Buffer.from([0, 1, 2, 255]));
    await expect(s.artifacts.list(run.id, 'readme.txt')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('artifact paths', () => {
  it('normalise harmless forms', () => {
    expect(normalizeArtifactPath('a//b/./c')).toBe('a/b/c');
    expect(normalizeArtifactPath('', { allowRoot: true })).toBe('');
  });
  it.each([
    ['../x', "'..'"],
    ['a/../../x', "'..'"],
    ['/etc/passwd', 'absolute'],
    ['C:/Windows', 'drive'],
    ['a\\b', 'backslash'],
    ['a\0b', 'NUL'],
    ['%2e%2e/x', 'percent-encoded'],
    ['a%2Fb', 'percent-encoded'],
    ['%252e', 'percent-encoded'],
    ['', 'empty'],
  ])('refuses %j (%s), naming the field', (raw, why) => {
    expect(() => normalizeArtifactPath(raw, { field: 'path' })).toThrow(
      new RegExp(`^path: .*${why.replace(/[.*+?^${}()|[\]\\']/g, '.')}`),
    );
  });
});
