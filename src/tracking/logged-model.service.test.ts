import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/backends.js';
import { createAuditLog } from '../audit/index.js';
import { createBlobStore } from '../blobs/index.js';
import { fakeClock } from '../core/clock.js';
import {
  createArtifactService,
  createExperimentService,
  createLoggedModelArtifactService,
  createLoggedModelService,
  createMultipartUploadService,
  createRunService,
} from './index.js';

const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-logged-models-'));
afterAll(() => fs.rmSync(blobDir, { recursive: true, force: true }));

describeEachBackend('logged models and multipart uploads', (get) => {
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
    const artifacts = createArtifactService(deps);
    return {
      audit,
      experiments: createExperimentService(deps),
      runs: createRunService(deps),
      artifacts,
      models: createLoggedModelService(deps),
      modelFiles: createLoggedModelArtifactService(deps),
      uploads: createMultipartUploadService(deps, { artifacts }),
    };
  };
  const actor = 'tester';
  const newRun = async (s: ReturnType<typeof make>) => {
    const e = await s.experiments.create({ actor, name: `exp-${Math.random().toString(36).slice(2)}` });
    return s.runs.create({ actor, experimentId: e.id });
  };

  it("a logged model's files are its run's, its params never change, and a refused write is not audited", async () => {
    const s = make();
    const run = await newRun(s);
    const m = await s.models.create({
      actor,
      experimentId: run.experimentId,
      sourceRunId: run.id,
      params: [{ key: 'alpha', value: '1' }],
    });
    expect(m.id).toMatch(/^m-[0-9a-z]{26}$/);
    expect(m.status).toBe('PENDING');
    expect(m.artifactUri).toBe(`${run.artifactUri}/models/${m.id}`);
    expect(await s.models.links({ modelId: m.id })).toEqual([
      { runId: run.id, modelId: m.id, direction: 'output', step: 0 },
    ]);

    await s.models.logParams({ actor, id: m.id, params: [{ key: 'alpha', value: '1' }] });
    const before = (await s.audit.verify()).entries;
    await expect(
      s.models.logParams({ actor, id: m.id, params: [{ key: 'alpha', value: '2' }] }),
    ).rejects.toThrow(/^params: param 'alpha'/);
    expect((await s.audit.verify()).entries).toBe(before);
    expect((await s.models.get(m.id)).params).toEqual({ alpha: '1' });

    const ready = await s.models.finalize({ actor, id: m.id, status: 'READY' });
    expect(ready.status).toBe('READY');
    expect((await s.audit.verify()).entries).toBe(before + 1);
  });

  it('a run of another experiment cannot be the source; an unknown model is NOT_FOUND', async () => {
    const s = make();
    const run = await newRun(s);
    const other = await s.experiments.create({ actor, name: `exp-${Math.random().toString(36).slice(2)}` });
    await expect(s.models.create({ actor, experimentId: other.id, sourceRunId: run.id })).rejects.toThrow(
      /^source_run_id: /,
    );
    await expect(s.models.get('m-unknown')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('an upload completes only with every part, in order, and leaves no artifact when refused', async () => {
    const s = make();
    const run = await newRun(s);
    const up = await s.uploads.create({ actor, runId: run.id, path: 'data/big.bin', numParts: 3 });
    const a = await s.uploads.putPart({ uploadId: up.uploadId, partNumber: 1, content: 'aaa' });
    const b = await s.uploads.putPart({ uploadId: up.uploadId, partNumber: 2, content: 'bb' });
    await expect(
      s.uploads.complete({
        actor,
        uploadId: up.uploadId,
        runId: run.id,
        path: 'data/big.bin',
        parts: [
          { partNumber: 1, etag: a.etag },
          { partNumber: 2, etag: b.etag },
        ],
      }),
    ).rejects.toThrow(/^parts: list each of the 3 parts once/);
    await expect(s.uploads.putPart({ uploadId: up.uploadId, partNumber: 4, content: 'x' })).rejects.toThrow(
      /^part_number: /,
    );
    const c = await s.uploads.putPart({ uploadId: up.uploadId, partNumber: 3, content: 'c' });
    await expect(s.artifacts.get(run.id, 'data/big.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const done = await s.uploads.complete({
      actor,
      uploadId: up.uploadId,
      runId: run.id,
      path: 'data/big.bin',
      parts: [
        { partNumber: 3, etag: c.etag },
        { partNumber: 1, etag: `"${a.etag}"` },
        { partNumber: 2, etag: b.etag },
      ],
    });
    expect(done.size).toBe(6);
    const got = await s.artifacts.get(run.id, 'data/big.bin');
    const chunks: Buffer[] = [];
    for await (const chunk of got.stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('aaabbc');
    // Completed: the upload is gone.
    await expect(
      s.uploads.putPart({ uploadId: up.uploadId, partNumber: 1, content: 'a' }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('a model logged outside a run keeps its own files; a run-produced model refuses them; each write is audited', async () => {
    const s = make();
    const run = await newRun(s);
    const runless = await s.models.create({ actor, experimentId: run.experimentId });
    expect(runless.artifactUri).toBe(`mlflow-artifacts:/${run.experimentId}/models/${runless.id}/artifacts`);
    const before = (await s.audit.verify()).entries;
    const put = await s.modelFiles.put({
      actor,
      modelId: runless.id,
      path: 'dir/./model.pkl',
      content: 'bytes',
    });
    expect(put.path).toBe('dir/model.pkl');
    expect((await s.audit.verify()).entries).toBe(before + 1);
    expect(await s.modelFiles.list(runless.id)).toEqual([
      { path: 'dir', isDir: true, size: null, sha256: null },
    ]);
    expect(await s.modelFiles.files(runless.id)).toEqual([
      { path: 'dir/model.pkl', sha256: put.sha256, size: 5 },
    ]);
    await expect(s.modelFiles.list(runless.id, 'dir/model.pkl')).rejects.toThrow(/is a file, not a folder/);
    await expect(
      s.modelFiles.put({ actor, modelId: runless.id, path: '../x', content: 'x' }),
    ).rejects.toThrow(/'\.\.'/);

    const produced = await s.models.create({ actor, experimentId: run.experimentId, sourceRunId: run.id });
    const count = (await s.audit.verify()).entries;
    await expect(
      s.modelFiles.put({ actor, modelId: produced.id, path: 'MLmodel', content: 'x' }),
    ).rejects.toThrow(new RegExp(`produced by run '${run.id}'`));
    await s.models.remove({ actor, id: runless.id });
    const afterRemove = (await s.audit.verify()).entries;
    await expect(
      s.modelFiles.put({ actor, modelId: runless.id, path: 'late', content: 'x' }),
    ).rejects.toThrow(/deleted/);
    expect((await s.audit.verify()).entries).toBe(afterRemove);
    expect(afterRemove).toBe(count + 1);
    // A deleted model's files stay readable (a registered version may name them).
    expect((await s.modelFiles.stat(runless.id, 'dir/model.pkl')).sha256).toBe(put.sha256);
  });

  it('a metric logged with model_id is on the run and on the model; an unknown model stores nothing of the batch', async () => {
    const s = make();
    const run = await newRun(s);
    const model = await s.models.create({ actor, experimentId: run.experimentId });
    await s.runs.logBatch({
      actor,
      runId: run.id,
      metrics: [
        {
          key: 'acc',
          value: 0.9,
          timestamp: 10,
          step: 1,
          modelId: model.id,
          datasetName: 'eval',
          datasetDigest: 'd',
        },
        { key: 'acc', value: Number.NaN, timestamp: 11, step: 2, modelId: model.id },
        { key: 'acc', value: Number.NEGATIVE_INFINITY, timestamp: 12, step: 3, modelId: model.id },
        { key: 'loss', value: 0.1, timestamp: 10, step: 0 },
      ],
    });
    expect((await s.models.get(model.id)).metrics).toEqual([
      {
        key: 'acc',
        value: 0.9,
        timestamp: 10,
        step: 1,
        runId: run.id,
        datasetName: 'eval',
        datasetDigest: 'd',
      },
      {
        key: 'acc',
        value: 'NaN',
        timestamp: 11,
        step: 2,
        runId: run.id,
        datasetName: null,
        datasetDigest: null,
      },
      {
        key: 'acc',
        value: '-Infinity',
        timestamp: 12,
        step: 3,
        runId: run.id,
        datasetName: null,
        datasetDigest: null,
      },
    ]);
    expect((await s.runs.get(run.id)).metrics.map((m) => m.key).sort()).toEqual(['acc', 'loss']);

    const before = (await s.audit.verify()).entries;
    await expect(
      s.runs.logBatch({
        actor,
        runId: run.id,
        metrics: [
          { key: 'f1', value: 1, timestamp: 12, step: 0 },
          { key: 'f1', value: 1, timestamp: 12, step: 0, modelId: 'm-0000000000000000000000000a' },
        ],
      }),
    ).rejects.toThrow(/m-0000000000000000000000000a/);
    expect((await s.runs.get(run.id)).metrics.map((m) => m.key)).not.toContain('f1');
    expect((await s.audit.verify()).entries).toBe(before);
  });
});
