import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app/index.js';
import { type BlobStore, createBlobStore } from '../../src/blobs/index.js';
import { systemClock } from '../../src/core/clock.js';
import { loadConfig } from '../../src/core/config.js';
import { sha256Hex } from '../../src/core/hashing.js';
import { createGarbageCollector } from '../../src/governance/gc.service.js';
import { openLineageRunEventSchema, VERSION_FACET_URL } from '../../src/governance/openlineage.schema.js';
import { runUuid } from '../../src/governance/openlineage-event.js';
import { describeEachBackend } from '../support/backends.js';

let counter = 0;
const uniq = (p: string) => `${p}-${++counter}-${Math.random().toString(36).slice(2, 7)}`;
const HOUR = 3600_000;

/** Stores the files' bytes and commits a dataset version of them. */
async function addVersion(
  s: Services,
  dataset: string,
  files: Record<string, string>,
  meta: { parents?: string[]; producedByRunId?: string; source?: string } = {},
) {
  const entries = [];
  for (const [p, content] of Object.entries(files)) {
    const info = await s.blobs.put(content);
    entries.push({ path: p, size: info.size, sha256: info.sha256 });
  }
  const { version } = await s.data.versions.create({ actor: 'tester', dataset, files: entries, ...meta });
  return version;
}

/** Makes a blob look older than it is (the folder store reports the file's mtime). */
function age(blobs: BlobStore, sha256: string, ms: number) {
  const p = (blobs as unknown as { pathOf(s: string): string }).pathOf(sha256);
  const t = new Date(Date.now() - ms);
  fs.utimesSync(p, t, t);
}

describeEachBackend('governance', (getStore, backend) => {
  let home: string;
  let s: Services;

  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-gov-'));
    s = createServices({
      store: getStore(),
      blobs: createBlobStore(`file:${path.join(home, 'blobs')}`),
      clock: systemClock,
      config: loadConfig({ SEXTANT_HOME: home }),
      auditKey: 'test-audit-key-0123456789',
    });
  });
  afterAll(async () => {
    await s?.blobs.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  /** raw@1 -> prep run -> clean@1 (derived from raw@1) -> train run -> scores@1 (a logged output). */
  async function pipeline() {
    const names = { raw: uniq('raw'), clean: uniq('clean'), scores: uniq('scores'), exp: uniq('exp') };
    const exp = await s.experiments.create({ actor: 'tester', name: names.exp });
    const raw = await addVersion(
      s,
      names.raw,
      { 'data.csv': 'id,amount\n1,10\n2,20\n' },
      { source: 's3://bucket/raw.csv' },
    );
    const prep = await s.runs.create({ actor: 'tester', experimentId: exp.id, name: 'prep' });
    await s.runs.logInputs({
      actor: 'tester',
      runId: prep.id,
      datasets: [{ name: names.raw, digest: raw.digest, datasetVersionId: raw.id }],
    });
    const clean = await addVersion(
      s,
      names.clean,
      { 'clean.csv': 'id,amount\n1,10\n' },
      { parents: [`${names.raw}@1`], producedByRunId: prep.id },
    );
    await s.runs.update({ actor: 'tester', runId: prep.id, status: 'FINISHED', endTime: Date.now() });
    const train = await s.runs.create({ actor: 'tester', experimentId: exp.id, name: 'train' });
    await s.runs.logInputs({
      actor: 'tester',
      runId: train.id,
      datasets: [{ name: names.clean, digest: clean.digest, datasetVersionId: clean.id }],
    });
    const scores = await addVersion(s, names.scores, { 'scores.txt': 'x' });
    await s.runs.logInputs({
      actor: 'tester',
      runId: train.id,
      direction: 'output',
      datasets: [{ name: names.scores, digest: scores.digest, datasetVersionId: scores.id }],
    });
    return { names, exp, raw, prep, clean, train, scores };
  }

  describe('lineage graph', () => {
    it('walks upstream and downstream across a derived dataset and the runs that read and wrote it', async () => {
      const p = await pipeline();
      const g = await s.governance.lineage.graph({ ref: `${p.names.clean}@1` });
      const byRef = new Map(g.nodes.map((n) => [n.ref, n]));
      expect(g.root).toBe(`dataset_version:${p.clean.id}`);
      expect(g.nodes[0]?.id).toBe(g.root);
      expect([...byRef.keys()].sort()).toEqual(
        [`${p.names.raw}@1`, `${p.names.clean}@1`, `${p.names.scores}@1`, p.prep.id, p.train.id].sort(),
      );
      const has = (from: string, to: string, kind: string) =>
        g.edges.some((e) => e.from === byRef.get(from)?.id && e.to === byRef.get(to)?.id && e.kind === kind);
      expect(has(`${p.names.raw}@1`, `${p.names.clean}@1`, 'derived')).toBe(true);
      expect(has(p.prep.id, `${p.names.clean}@1`, 'produced')).toBe(true);
      expect(has(`${p.names.raw}@1`, p.prep.id, 'input')).toBe(true);
      expect(has(`${p.names.clean}@1`, p.train.id, 'input')).toBe(true);
      expect(has(p.train.id, `${p.names.scores}@1`, 'produced')).toBe(true);
      // producedBy and the run-output row name the same link once.
      expect(g.edges.filter((e) => e.from === byRef.get(p.prep.id)?.id).length).toBe(1);
      expect(byRef.get(p.prep.id)?.attributes).toMatchObject({ status: 'FINISHED', experiment: p.names.exp });
      expect(byRef.get(`${p.names.raw}@1`)?.depth).toBe(1);
    });

    it('follows one side only, and stops at the depth asked for', async () => {
      const p = await pipeline();
      const up = await s.governance.lineage.graph({ ref: p.train.id, direction: 'upstream' });
      expect(up.nodes.map((n) => n.ref).sort()).toEqual(
        [`${p.names.raw}@1`, `${p.names.clean}@1`, p.prep.id, p.train.id].sort(),
      );
      const down1 = await s.governance.lineage.graph({
        ref: `${p.names.raw}@1`,
        direction: 'downstream',
        depth: 1,
      });
      expect(down1.nodes.map((n) => n.ref).sort()).toEqual(
        [`${p.names.raw}@1`, `${p.names.clean}@1`, p.prep.id].sort(),
      );
      const down3 = await s.governance.lineage.graph({
        ref: `${p.names.raw}@1`,
        direction: 'downstream',
        depth: 3,
      });
      expect(down3.nodes.map((n) => n.ref)).toContain(`${p.names.scores}@1`);
      expect(down3.nodes.find((n) => n.ref === `${p.names.scores}@1`)?.depth).toBe(3);
      // Both sides are ancestors plus descendants: another reader of clean@1 is neither, so it stays out.
      const sibling = await s.runs.create({ actor: 'tester', experimentId: p.exp.id, name: 'sibling' });
      await s.runs.logInputs({
        actor: 'tester',
        runId: sibling.id,
        datasets: [{ name: p.names.clean, digest: p.clean.digest, datasetVersionId: p.clean.id }],
      });
      const both = await s.governance.lineage.graph({ ref: `${p.names.scores}@1` });
      expect(both.nodes.map((n) => n.ref).sort()).toEqual(
        [`${p.names.scores}@1`, p.train.id, `${p.names.clean}@1`, p.prep.id, `${p.names.raw}@1`].sort(),
      );
      const down = await s.governance.lineage.graph({ ref: `${p.names.clean}@1`, direction: 'downstream' });
      expect(down.nodes.map((n) => n.ref)).toContain(sibling.id);
    });

    it('resolves run ids, explicit prefixes and a bare dataset name (latest); unknown refs are NOT_FOUND', async () => {
      const p = await pipeline();
      expect((await s.governance.lineage.graph({ ref: `run:${p.prep.id}` })).root).toBe(`run:${p.prep.id}`);
      expect((await s.governance.lineage.graph({ ref: `dataset:${p.names.raw}` })).root).toBe(
        `dataset_version:${p.raw.id}`,
      );
      expect((await s.governance.lineage.graph({ ref: p.names.raw })).root).toBe(
        `dataset_version:${p.raw.id}`,
      );
      await expect(s.governance.lineage.graph({ ref: 'no-such-dataset@1' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(s.governance.lineage.graph({ ref: `${p.names.raw}@7` })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(s.governance.lineage.graph({ ref: 'run:run_nothere' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
        message: "run 'run_nothere' does not exist",
      });
      await expect(s.governance.lineage.graph({ ref: p.names.raw, depth: 0 })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'depth' },
      });
    });
  });

  describe('model versions in the graph', () => {
    const admin = { name: 'tester', role: 'admin' as const };

    it('a model version registered from a run sits downstream of the run and its data', async () => {
      const p = await pipeline();
      const model = uniq('churn');
      await s.artifacts.put({
        actor: 'tester',
        runId: p.train.id,
        path: 'model/weights.bin',
        content: uniq('w'),
      });
      const mv = await s.registry.versions.registerFromRun({
        actor: admin,
        model,
        runId: p.train.id,
        path: 'model/weights.bin',
      });
      const up = await s.governance.lineage.graph({ ref: `${model}@1`, direction: 'upstream' });
      expect(up.root).toBe(`model_version:${mv.id}`);
      expect(up.nodes.map((n) => n.ref).sort()).toEqual(
        [`${model}@1`, p.train.id, `${p.names.clean}@1`, p.prep.id, `${p.names.raw}@1`].sort(),
      );
      expect(up.edges).toContainEqual({
        from: `run:${p.train.id}`,
        to: `model_version:${mv.id}`,
        kind: 'trained',
      });
      expect(up.nodes[0]).toMatchObject({
        kind: 'model_version',
        label: `model ${model}@1`,
        attributes: { version: 1 },
      });
      const down = await s.governance.lineage.graph({ ref: `${p.names.raw}@1`, direction: 'downstream' });
      expect(down.nodes.map((n) => n.ref)).toContain(`${model}@1`);
      expect((await s.governance.lineage.graph({ ref: `model:${model}@1` })).root).toBe(
        `model_version:${mv.id}`,
      );
    });

    it('a version registered from a file names no run; a name that is both a dataset and a model must be prefixed', async () => {
      const name = uniq('shared');
      const ds = await addVersion(s, name, { 'x.txt': uniq('x') });
      const mv = await s.registry.versions.registerFile({
        actor: admin,
        model: name,
        filename: 'm.bin',
        content: uniq('m'),
      });
      await expect(s.governance.lineage.graph({ ref: `${name}@1` })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining(`write dataset:${name}@1 or model:${name}@1`),
      });
      expect((await s.governance.lineage.graph({ ref: `dataset:${name}@1` })).root).toBe(
        `dataset_version:${ds.id}`,
      );
      const g = await s.governance.lineage.graph({ ref: `model:${name}@1` });
      expect(g.nodes.map((n) => n.id)).toEqual([`model_version:${mv.id}`]);
    });

    it('gc keeps a blob that only a model version references', async () => {
      const mv = await s.registry.versions.registerFile({
        actor: admin,
        model: uniq('kept'),
        filename: 'm.bin',
        content: uniq('model-bytes'),
      });
      age(s.blobs, mv.sha256, 2 * HOUR);
      const report = await s.governance.gc.run({ actor: 'tester', delete: true });
      expect(report.unreferenced.blobs.map((b) => b.sha256)).not.toContain(mv.sha256);
      expect(await s.blobs.has(mv.sha256)).toBe(true);
    });
  });

  describe('OpenLineage export', () => {
    it('a finished run is START then COMPLETE, with its input and output datasets and their facets', async () => {
      const p = await pipeline();
      const { runId, events } = await s.governance.openLineage.exportRun({ runId: p.prep.id });
      expect(runId).toBe(p.prep.id);
      expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
      for (const e of events) openLineageRunEventSchema.parse(e);
      const [start, complete] = events;
      expect(start?.run.runId).toBe(runUuid(p.prep.id));
      expect(complete?.run.runId).toBe(start?.run.runId);
      expect(start?.job).toEqual({ namespace: 'sextant', name: p.names.exp });
      expect(Date.parse(complete!.eventTime)).toBeGreaterThanOrEqual(Date.parse(start!.eventTime));
      const input = start?.inputs[0];
      expect(input).toMatchObject({ namespace: 'sextant', name: p.names.raw });
      expect(input?.facets?.version).toEqual({
        _producer: start?.producer,
        _schemaURL: VERSION_FACET_URL,
        datasetVersion: p.raw.digest,
      });
      expect(input?.facets?.schema?.fields.map((f) => [f.name, f.type])).toEqual([
        ['id', 'BIGINT'],
        ['amount', 'BIGINT'],
      ]);
      expect(input?.facets?.dataSource).toMatchObject({
        name: 's3://bucket/raw.csv',
        uri: 's3://bucket/raw.csv',
      });
      expect(start?.outputs.map((o) => [o.name, o.facets?.version?.datasetVersion])).toEqual([
        [p.names.clean, p.clean.digest],
      ]);
    });

    it('FAIL and ABORT follow the run status; a running run has only START; unknown runs are NOT_FOUND', async () => {
      const p = await pipeline();
      const running = await s.governance.openLineage.exportRun({ runId: p.train.id, namespace: 'team-a' });
      expect(running.events.map((e) => e.eventType)).toEqual(['START']);
      expect(running.events[0]?.job.namespace).toBe('team-a');
      expect(running.events[0]?.outputs.map((o) => o.name)).toEqual([p.names.scores]);
      await s.runs.update({ actor: 'tester', runId: p.train.id, status: 'FAILED', endTime: Date.now() });
      const failed = await s.governance.openLineage.exportRun({ runId: p.train.id });
      expect(failed.events.map((e) => e.eventType)).toEqual(['START', 'FAIL']);
      const killed = await s.runs.create({ actor: 'tester', experimentId: p.exp.id });
      await s.runs.update({ actor: 'tester', runId: killed.id, status: 'KILLED', endTime: Date.now() });
      const aborted = await s.governance.openLineage.exportRun({ runId: killed.id });
      expect(aborted.events.map((e) => e.eventType)).toEqual(['START', 'ABORT']);
      expect(aborted.events[0]?.inputs).toEqual([]);
      await expect(s.governance.openLineage.exportRun({ runId: 'run_nothere' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('an MLflow-style input that names no Sextant version is exported by its own name and source', async () => {
      const exp = await s.experiments.create({ actor: 'tester', name: uniq('exp') });
      const run = await s.runs.create({ actor: 'tester', experimentId: exp.id });
      await s.runs.logInputs({
        actor: 'tester',
        runId: run.id,
        datasets: [
          {
            name: 'iris',
            digest: 'abc123',
            sourceType: 'http',
            source: 'https://example.org/iris.csv',
            schema: JSON.stringify({ mlflow_colspec: [{ name: 'petal', type: 'double' }] }),
          },
        ],
      });
      const [start] = (await s.governance.openLineage.exportRun({ runId: run.id })).events;
      expect(start?.inputs).toEqual([
        expect.objectContaining({
          namespace: 'https://example.org',
          name: 'iris',
          facets: expect.objectContaining({
            schema: expect.objectContaining({ fields: [{ name: 'petal', type: 'DOUBLE' }] }),
            version: expect.objectContaining({ datasetVersion: 'abc123' }),
          }),
        }),
      ]);
    });
  });

  describe('gc', () => {
    it('a dry run lists unreferenced blobs past the grace period and deletes nothing', async () => {
      const p = await pipeline();
      const orphan = await s.blobs.put(`orphan ${uniq('o')}`);
      age(s.blobs, orphan.sha256, 2 * HOUR);
      const fresh = await s.blobs.put(`fresh ${uniq('f')}`);
      const report = await s.governance.gc.run({ actor: 'tester' });
      expect(report.dryRun).toBe(true);
      const listed = report.unreferenced.blobs.map((b) => b.sha256);
      expect(listed).toContain(orphan.sha256);
      expect(listed).not.toContain(fresh.sha256);
      for (const f of [...p.raw.files, ...p.clean.files]) expect(listed).not.toContain(f.sha256);
      expect(report.young.count).toBeGreaterThanOrEqual(1);
      expect(report.deleted).toEqual({ count: 0, bytes: 0 });
      expect(report.unreferenced.bytes).toBe(report.unreferenced.blobs.reduce((n, b) => n + b.size, 0));
      expect(await s.blobs.has(orphan.sha256)).toBe(true);
    });

    it('--delete removes them, keeps referenced and young blobs, and writes one audit entry', async () => {
      const p = await pipeline();
      const exp = await s.experiments.create({ actor: 'tester', name: uniq('exp') });
      const run = await s.runs.create({ actor: 'tester', experimentId: exp.id });
      const artifact = await s.artifacts.put({
        actor: 'tester',
        runId: run.id,
        path: 'model.bin',
        content: uniq('a'),
      });
      age(s.blobs, artifact.sha256, 2 * HOUR);
      for (const f of p.raw.files) age(s.blobs, f.sha256, 2 * HOUR);
      const orphans = [await s.blobs.put(uniq('x')), await s.blobs.put(uniq('y'))];
      for (const o of orphans) age(s.blobs, o.sha256, 2 * HOUR);
      const fresh = await s.blobs.put(uniq('young'));

      const report = await s.governance.gc.run({ actor: 'tester', delete: true });
      const deleted = report.unreferenced.blobs.map((b) => b.sha256);
      for (const o of orphans) {
        expect(deleted).toContain(o.sha256);
        expect(await s.blobs.has(o.sha256)).toBe(false);
      }
      expect(report.deleted.count).toBe(deleted.length);
      expect(await s.blobs.has(artifact.sha256)).toBe(true);
      expect(await s.blobs.has(p.raw.files[0]!.sha256)).toBe(true);
      expect(await s.blobs.has(fresh.sha256)).toBe(true);

      const [entry] = await s.audit.list({ entityType: 'blob_store', limit: 1 });
      expect(entry?.id).toBe(report.auditEntryId);
      expect(entry?.action).toBe('blobs.gc');
      expect(entry?.details).toMatchObject({ count: report.deleted.count, bytes: report.deleted.bytes });
      expect(entry?.details?.digest).toBe(sha256Hex([...deleted].sort().join('\n')));
      expect([...((entry?.details?.keys as string[] | undefined) ?? [])].sort()).toEqual([...deleted].sort());
      expect((await s.audit.verify()).ok).toBe(true);

      // Nothing left to do: a second run deletes nothing and writes no entry.
      const again = await s.governance.gc.run({ actor: 'tester', delete: true });
      expect(again.deleted.count).toBe(0);
      expect(again.auditEntryId).toBeNull();
    });

    it('the grace period protects young blobs; --grace 0 takes them too', async () => {
      const blob = await s.blobs.put(uniq('in-flight'));
      const kept = await s.governance.gc.run({ actor: 'tester', delete: true, graceSeconds: 3600 });
      expect(kept.unreferenced.blobs.map((b) => b.sha256)).not.toContain(blob.sha256);
      expect(await s.blobs.has(blob.sha256)).toBe(true);
      age(s.blobs, blob.sha256, 10 * 60_000);
      const still = await s.governance.gc.run({ actor: 'tester', graceSeconds: 3600 });
      expect(still.unreferenced.blobs.map((b) => b.sha256)).not.toContain(blob.sha256);
      const gone = await s.governance.gc.run({ actor: 'tester', delete: true, graceSeconds: 0 });
      expect(gone.unreferenced.blobs.map((b) => b.sha256)).toContain(blob.sha256);
      expect(await s.blobs.has(blob.sha256)).toBe(false);
    });

    it('a blob that becomes referenced between the scan and the delete is kept', async () => {
      const dataset = uniq('late');
      const content = `late ${uniq('c')}`;
      const blob = await s.blobs.put(content);
      age(s.blobs, blob.sha256, 2 * HOUR);
      // A store whose listing ends by committing a version that names the blob: the commit lands after
      // gc read the references and before it deletes.
      const hooked: BlobStore = Object.create(s.blobs, {
        list: {
          value: async function* () {
            yield* s.blobs.list();
            await s.data.versions.create({
              actor: 'tester',
              dataset,
              files: [{ path: 'late.txt', size: blob.size, sha256: blob.sha256 }],
            });
          },
        },
      });
      const gc = createGarbageCollector({
        db: getStore().db,
        dialect: getStore().dialect,
        audit: s.audit,
        clock: systemClock,
        blobs: hooked,
      });
      const report = await gc.run({ actor: 'tester', delete: true });
      expect(report.unreferenced.blobs.map((b) => b.sha256)).toContain(blob.sha256);
      expect(report.rescued.count).toBeGreaterThanOrEqual(1);
      expect(await s.blobs.has(blob.sha256)).toBe(true);
      expect((await s.data.versions.resolve(`${dataset}@1`)).files[0]?.sha256).toBe(blob.sha256);
    });

    it('waits for a writer that holds a reference table, then keeps the blob it started to reference', async () => {
      const exp = await s.experiments.create({ actor: 'tester', name: uniq('exp') });
      const run = await s.runs.create({ actor: 'tester', experimentId: exp.id });
      const blob = await s.blobs.put(uniq('being-linked'));
      age(s.blobs, blob.sha256, 2 * HOUR);
      let gc: Promise<Awaited<ReturnType<typeof s.governance.gc.run>>> | undefined;
      await getStore()
        .db.transaction()
        .execute(async (tx) => {
          await tx
            .insertInto('artifacts')
            .values({
              run_id: run.id,
              path: 'late.bin',
              sha256: blob.sha256,
              size: blob.size,
              created_at: Date.now(),
            })
            .execute();
          gc = s.governance.gc.run({ actor: 'tester', delete: true });
          await new Promise((r) => setTimeout(r, 300));
        });
      const report = await gc!;
      expect(await s.blobs.has(blob.sha256)).toBe(true);
      expect(report.deleted.count).toBe(report.unreferenced.count - report.rescued.count);
      if (backend === 'postgres') expect(report.rescued.count).toBeGreaterThanOrEqual(1);
    });

    it('rejects a negative grace period, naming the field', async () => {
      await expect(s.governance.gc.run({ actor: 'tester', graceSeconds: -1 })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'graceSeconds' },
      });
    });
  });
});
