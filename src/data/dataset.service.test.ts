import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/backends.js';
import { createAuditLog } from '../audit/index.js';
import { createBlobStore } from '../blobs/index.js';
import { fakeClock } from '../core/clock.js';
import { sha256Hex } from '../core/hashing.js';
import { createExperimentService, createRunService } from '../tracking/index.js';
import { createDataDomain, manifestDigest, sortManifest } from './index.js';

const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-data-'));
afterAll(() => fs.rmSync(blobDir, { recursive: true, force: true }));

describeEachBackend('dataset versions', (get) => {
  let n = 0;
  const actor = 'tester';
  const make = () => {
    const store = get();
    const clock = fakeClock(Date.UTC(2026, 0, 1) + n++ * 60_000);
    const audit = createAuditLog({ db: store.db, dialect: store.dialect, clock, key: 'k'.repeat(32) });
    const blobs = createBlobStore(`file:${blobDir}`);
    const deps = { db: store.db, dialect: store.dialect, audit, clock, blobs };
    const data = createDataDomain(deps);
    const runs = createRunService(deps, { resolveDatasetVersion: data.linkForRunInput });
    return { audit, clock, blobs, data, v: data.versions, runs, experiments: createExperimentService(deps) };
  };
  const uniq = (p: string) => `${p}-${Math.random().toString(36).slice(2, 8)}`;

  /** Stores the contents and returns manifest entries for them. */
  async function files(s: ReturnType<typeof make>, contents: Record<string, string>) {
    const out = [];
    for (const [p, text] of Object.entries(contents)) {
      const info = await s.blobs.put(text);
      out.push({ path: p, size: info.size, sha256: info.sha256 });
    }
    return out;
  }

  it('a version is the digest of its canonical manifest, numbered per dataset, with its metadata', async () => {
    const s = make();
    const name = uniq('ds');
    const f = await files(s, { 'b.txt': 'bee', 'a/x.txt': 'ex' });
    const r = await s.v.create({
      actor,
      dataset: name,
      files: f,
      source: 's3://x/y',
      owner: 'ana',
      pii: true,
    });
    expect(r.created).toBe(true);
    expect(r.version).toMatchObject({
      dataset: name,
      number: 1,
      source: 's3://x/y',
      owner: 'ana',
      pii: true,
    });
    expect(r.version.digest).toBe(manifestDigest(sortManifest(f)));
    expect(r.version.files.map((x) => x.path)).toEqual(['a/x.txt', 'b.txt']);
    const r2 = await s.v.create({ actor, dataset: name, files: await files(s, { 'b.txt': 'bee2' }) });
    expect(r2.version.number).toBe(2);
    expect((await s.v.resolve(name)).number).toBe(2);
    expect((await s.v.resolve(`${name}@1`)).digest).toBe(r.version.digest);
    expect((await s.v.resolve(`${name}@${r.version.digest.slice(0, 10)}`)).number).toBe(1);
    expect((await s.v.get(r.version.id)).number).toBe(1);
    expect(await s.v.findById('dsv_nope')).toBeUndefined();
  });

  it('the same content added twice to a dataset returns the existing version and writes nothing', async () => {
    const s = make();
    const name = uniq('same');
    const f = await files(s, { 'a.txt': 'one' });
    const first = await s.v.create({ actor, dataset: name, files: f });
    const before = (await s.audit.verify()).entries;
    const again = await s.v.create({ actor, dataset: name, files: [...f], description: 'other metadata' });
    expect(again).toMatchObject({ created: false, version: { id: first.version.id, number: 1 } });
    expect((await s.audit.verify()).entries).toBe(before);
    expect(await s.v.listVersions(name)).toHaveLength(1);
  });

  it('refuses a manifest whose blobs are not stored, and leaves no dataset behind', async () => {
    const s = make();
    const name = uniq('missing');
    const ghost = { path: 'ghost.bin', size: 5, sha256: sha256Hex(uniq('never stored')) };
    await expect(s.v.create({ actor, dataset: name, files: [ghost] })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining("'ghost.bin'"),
    });
    await expect(s.v.resolve(name)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await s.v.missingBlobs([{ sha256: ghost.sha256, size: 5 }])).toEqual([ghost.sha256]);
  });

  it('refuses bad manifests: duplicate paths, escaping paths, a path that is also a folder', async () => {
    const s = make();
    const [a] = await files(s, { 'a.txt': 'a' });
    for (const bad of [
      [a!, { ...a! }],
      [{ ...a!, path: '../up.txt' }],
      [{ ...a!, path: '/abs.txt' }],
      [a!, { ...a!, path: 'a.txt/inner' }],
    ]) {
      await expect(s.v.create({ actor, dataset: uniq('bad'), files: bad })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    }
    await expect(s.v.create({ actor, dataset: 'no@pe', files: [a!] })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('dataset'),
    });
  });

  it('a manifest naming content the blob store lacks (or holds at another size) is refused, and nothing is written', async () => {
    const s = make();
    const name = uniq('absent');
    const [kept] = await files(s, { 'kept.txt': 'kept' });
    const absent = sha256Hex(`never stored ${name}`);
    for (const bad of [
      // A plain file is looked at once, inside the transaction; a table before it is profiled.
      { path: 'gone.bin', size: 5, sha256: absent },
      { path: 'gone.csv', size: 5, sha256: absent },
      { ...kept!, path: 'resized.txt', size: kept!.size + 1 },
    ]) {
      await expect(s.v.create({ actor, dataset: name, files: [kept!, bad] })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining(`'${bad.path}'`),
      });
    }
    await expect(s.v.listVersions(name)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a malformed CSV fails the add naming the file and line, and no version is written', async () => {
    const s = make();
    const name = uniq('csv');
    const good = await files(s, { 'ok.csv': 'a,b\n1,2\n3,4\n' });
    await s.v.create({ actor, dataset: name, files: good });
    const bad = await files(s, { 'data/bad.csv': 'a,b\n1,2\n3,4,5,6\n"unterminated\n' });
    const err = await s.v.create({ actor, dataset: name, files: bad }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((err as Error).message).toContain('data/bad.csv');
    expect((err as Error).message).toMatch(/line \d+/);
    expect((await s.v.listVersions(name)).map((x) => x.number)).toEqual([1]);
  });

  it('tables get a schema and profile stored with the version, and diff compares them', async () => {
    const s = make();
    const name = uniq('tab');
    const v1 = await s.v.create({
      actor,
      dataset: name,
      files: await files(s, { 't.csv': 'age,city\n30,paris\n40,rome\n50,\n', 'notes.md': 'hi' }),
    });
    expect(v1.version.tables).toHaveLength(1);
    expect(v1.version.tables[0]).toMatchObject({ path: 't.csv', format: 'csv', rowCount: 3 });
    expect(v1.version.tables[0]!.schema.columns.map((c) => c.name)).toEqual(['age', 'city']);
    const v2 = await s.v.create({
      actor,
      dataset: name,
      files: await files(s, { 't.csv': 'age,city,score\n31,paris,1.5\n80,rome,2\n', 'new.txt': 'n' }),
    });
    const d = await s.v.diff(`${name}@1`, `${name}@2`);
    expect(d.added.map((f) => f.path)).toEqual(['new.txt']);
    expect(d.removed.map((f) => f.path)).toEqual(['notes.md']);
    expect(d.changed.map((f) => f.path)).toEqual(['t.csv']);
    expect(d.tables).toHaveLength(1);
    expect(d.tables[0]!.diff.rowCount).toEqual({ a: 3, b: 2, change: -1 });
    expect(d.tables[0]!.diff.schema.added.map((c) => c.name)).toEqual(['score']);
    expect(d.tables[0]!.diff.columns.find((c) => c.name === 'age')).toMatchObject({
      a: { max: 50 },
      b: { max: 80 },
    });
    expect(v2.version.number).toBe(2);
  });

  it('tags resolve, move when set again, and every move is audited', async () => {
    const s = make();
    const name = uniq('tag');
    await s.v.create({ actor, dataset: name, files: await files(s, { 'a.txt': uniq('1') }) });
    await s.v.create({ actor, dataset: name, files: await files(s, { 'a.txt': uniq('2') }) });
    await s.v.tag({ actor, ref: `${name}@1`, tag: 'golden' });
    expect((await s.v.resolve(`${name}@golden`)).number).toBe(1);
    const moved = await s.v.tag({ actor, ref: `${name}@2`, tag: 'golden' });
    expect(moved).toMatchObject({ number: 2, tags: ['golden'] });
    expect((await s.v.resolve(`${name}@1`)).tags).toEqual([]);
    const log = await s.audit.list({ entityType: 'dataset', limit: 50 });
    expect(log.filter((e) => e.action === 'dataset_tag.move')).toHaveLength(1);
    await expect(s.v.tag({ actor, ref: `${name}@1`, tag: 'latest' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(s.v.tag({ actor, ref: `${name}@1`, tag: '7' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });

  it('unknown datasets, versions, tags and ambiguous digests are named in the error', async () => {
    const s = make();
    const name = uniq('nf');
    await expect(s.v.resolve(`${name}@1`)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining(name),
    });
    await s.v.create({ actor, dataset: name, files: await files(s, { 'a.txt': uniq('x') }) });
    await expect(s.v.resolve(`${name}@9`)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining(`${name}@9`),
    });
    await expect(s.v.resolve(`${name}@nosuchtag`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(s.v.resolve(`${name}@`)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(s.v.listVersions(uniq('none'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('parents and the producing run are stored; the run lists the version as its output', async () => {
    const s = make();
    const raw = uniq('raw');
    const p = await s.v.create({ actor, dataset: raw, files: await files(s, { 'r.txt': uniq('raw') }) });
    const exp = await s.experiments.create({ actor, name: uniq('exp') });
    const run = await s.runs.create({ actor, experimentId: exp.id });
    const derived = await s.v.create({
      actor,
      dataset: uniq('clean'),
      files: await files(s, { 'c.txt': uniq('clean') }),
      parents: [`${raw}@1`],
      producedByRunId: run.id,
    });
    expect(derived.version).toMatchObject({ parents: [p.version.id], producedByRunId: run.id });
    const outputs = (await s.runs.get(run.id)).inputs.filter((i) => i.direction === 'output');
    expect(outputs.map((o) => o.datasetVersionId)).toEqual([derived.version.id]);
    const [summary] = await s.v.listVersions(derived.version.dataset);
    expect(summary!.parents).toEqual([`${raw}@1`]);
    await expect(
      s.v.create({ actor, dataset: uniq('x'), files: await files(s, { x: 'x' }), parents: [`${raw}@5`] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      s.v.create({
        actor,
        dataset: uniq('x'),
        files: await files(s, { x: 'y' }),
        producedByRunId: 'run_nope',
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('run_nope') });
  });

  it('logged run inputs link to the dataset version they name (id, ref, or name + digest as MLflow sends)', async () => {
    const s = make();
    const name = uniq('train');
    const v = (await s.v.create({ actor, dataset: name, files: await files(s, { 'a.csv': 'x\n1\n' }) }))
      .version;
    const exp = await s.experiments.create({ actor, name: uniq('exp') });
    const run = await s.runs.create({ actor, experimentId: exp.id });
    await s.runs.logInputs({
      actor,
      runId: run.id,
      datasets: [
        { name: `${name}@1`, digest: 'anything' },
        { name, digest: v.digest.slice(0, 8) },
        { name: 'other', digest: 'cafe', datasetVersionId: v.id },
        { name: 'unrelated', digest: 'deadbeef' },
      ],
    });
    const links = (await s.runs.get(run.id)).inputs.map((i) => i.datasetVersionId);
    expect(links).toEqual([v.id, v.id, v.id, null]);
    await expect(
      s.runs.logInputs({ actor, runId: run.id, datasets: [{ name: `${name}@7`, digest: 'x' }] }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('lists datasets with their version count and newest version', async () => {
    const s = make();
    const name = uniq('list');
    await s.v.create({ actor, dataset: name, files: await files(s, { a: uniq('1') }), description: 'first' });
    await s.v.create({
      actor,
      dataset: name,
      files: await files(s, { a: uniq('2') }),
      description: 'second',
    });
    const d = (await s.v.listDatasets()).find((x) => x.name === name);
    expect(d).toMatchObject({ versions: 2, latest: { number: 2, description: 'second' } });
  });

  it('two concurrent adds of different content get distinct numbers; of the same content, one version', async () => {
    const s = make();
    const name = uniq('race');
    const [a, b] = await Promise.all([files(s, { f: uniq('a') }), files(s, { f: uniq('b') })]);
    const rs = await Promise.all([
      s.v.create({ actor, dataset: name, files: a }),
      s.v.create({ actor, dataset: name, files: b }),
      s.v.create({ actor, dataset: name, files: a }),
    ]);
    expect(new Set(rs.map((r) => r.version.number)).size).toBe(2);
    expect((await s.v.listVersions(name)).map((v) => v.number).sort()).toEqual([1, 2]);
    expect((await s.audit.verify()).ok).toBe(true);
  });
});
