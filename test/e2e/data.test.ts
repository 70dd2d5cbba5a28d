import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { sha256Hex } from '../../src/core/hashing.js';
import {
  addResultSchema,
  dataStatusSchema,
  datasetDiffSchema,
  datasetVersionSchema,
} from '../../src/data/index.js';
import { buildApp } from '../../src/server/app.js';
import { cli } from '../support/cli.js';
import { mlflowSession, nativeErrorSchema, uniq } from './helpers.js';

function write(root: string, files: Record<string, string>): string {
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), text);
  }
  return root;
}

describe('sextant data: the same commands locally and against a server', () => {
  let tmp: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let local: Record<string, string>;
  let remote: Record<string, string>;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-data-e2e-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: path.join(tmp, 'server') }));
    app = await buildApp(ws);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    local = { SEXTANT_HOME: path.join(tmp, 'local') };
    remote = { SEXTANT_HOME: path.join(tmp, 'client'), SEXTANT_URL: url };
  });
  afterAll(async () => {
    await app.close();
    await ws.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] add, status, add again, ls, log, show, diff, tag, get`, async () => {
      const env = transport === 'local' ? local : remote;
      const ds = uniq('credit');
      const dir = write(path.join(tmp, uniq('work')), {
        'train.csv': 'age,income,city\n31,52000,paris\n45,61000,rome\n29,,oslo\n',
        'docs/README.md': 'synthetic credit data\n',
      });
      const added = await cli(
        env,
        '--json',
        'data',
        'add',
        dir,
        '--dataset',
        ds,
        '--source',
        'file://x',
        '--pii',
      );
      expect(added.code, added.err).toBe(0);
      const v1 = addResultSchema.parse(JSON.parse(added.out));
      expect(v1).toMatchObject({ created: true, version: { number: 1, pii: true, source: 'file://x' } });
      expect(v1.version.tables.map((t) => [t.path, t.rowCount])).toEqual([['train.csv', 3]]);
      expect(v1.version.files.find((f) => f.path === 'docs/README.md')?.sha256).toBe(
        sha256Hex('synthetic credit data\n'),
      );

      const again = await cli(env, 'data', 'add', dir, '--dataset', ds);
      expect(again.code).toBe(0);
      expect(again.out).toMatch(/unchanged: the same content is already .*@1/);

      const clean = await cli(env, '--json', 'data', 'status', dir, '--dataset', ds);
      expect(dataStatusSchema.parse(JSON.parse(clean.out))).toMatchObject({
        added: [],
        changed: [],
        removed: [],
        unchanged: 2,
        cached: 2,
      });
      fs.appendFileSync(path.join(dir, 'train.csv'), '52,80000,rome\n');
      fs.writeFileSync(path.join(dir, 'extra.txt'), 'new');
      fs.rmSync(path.join(dir, 'docs'), { recursive: true });
      const dirty = await cli(env, 'data', 'status', dir, '--dataset', ds);
      expect(dirty.out).toContain('changed  train.csv');
      expect(dirty.out).toContain('added    extra.txt');
      expect(dirty.out).toContain('removed  docs/README.md');

      const second = await cli(
        env,
        'data',
        'add',
        dir,
        '-d',
        ds,
        '--from',
        `${ds}@1`,
        '--description',
        'more rows',
      );
      expect(second.code, second.err).toBe(0);
      expect(second.out).toContain(`added ${ds}@2`);

      const ls = await cli(env, 'data', 'ls');
      expect(ls.out).toMatch(new RegExp(`${ds}\\s+2\\s+@2`));
      const log = await cli(env, 'data', 'log', ds);
      expect(log.out).toContain(`from ${ds}@1`);
      expect(log.out.indexOf(`${ds}@2`)).toBeLessThan(log.out.indexOf(`${ds}@1 `));
      const show = await cli(env, 'data', 'show', `${ds}@latest`);
      expect(show.out).toContain('more rows');
      expect(show.out).toMatch(new RegExp(`parents\\s+${ds}@1`));
      expect(show.out).toMatch(/income\s+integer/);

      const diff = await cli(env, '--json', 'data', 'diff', `${ds}@1`, ds);
      const d = datasetDiffSchema.parse(JSON.parse(diff.out));
      expect(d.added.map((f) => f.path)).toEqual(['extra.txt']);
      expect(d.removed.map((f) => f.path)).toEqual(['docs/README.md']);
      expect(d.tables[0]?.diff.rowCount).toEqual({ a: 3, b: 4, change: 1 });
      const diffText = await cli(env, 'data', 'diff', `${ds}@1`, `${ds}@2`);
      expect(diffText.out).toContain('rows 3 -> 4 (+1)');

      expect((await cli(env, 'data', 'tag', `${ds}@1`, 'approved')).out).toContain(
        `${ds}@approved -> ${ds}@1`,
      );
      const dest = path.join(tmp, uniq('dest'));
      const got = await cli(env, 'data', 'get', `${ds}@approved`, dest);
      expect(got.code, got.err).toBe(0);
      expect(fs.readFileSync(path.join(dest, 'docs/README.md'), 'utf8')).toBe('synthetic credit data\n');
      expect(fs.readFileSync(path.join(dest, 'train.csv'), 'utf8')).not.toContain('52,80000');
      expect(fs.readdirSync(dest).sort()).toEqual(['docs', 'train.csv']);
    });

    it(`[${transport}] bad input: one clear line, a non-zero exit, and no version`, async () => {
      const env = transport === 'local' ? local : remote;
      const ds = uniq('bad');
      const missing = await cli(env, 'data', 'add', path.join(tmp, 'no-such-folder'), '-d', ds);
      expect(missing).toMatchObject({ code: 2 });
      expect(missing.err).toMatch(/no-such-folder' does not exist/);

      const outside = write(path.join(tmp, uniq('secret')), { passwd: 'x' });
      const dir = write(path.join(tmp, uniq('linky')), { 'a.txt': 'a' });
      fs.symlinkSync(path.join(outside, 'passwd'), path.join(dir, 'escape'));
      const escaped = await cli(env, 'data', 'add', dir, '-d', ds);
      expect(escaped.code).toBe(2);
      expect(escaped.err).toMatch(/symlink 'escape' points outside the folder/);

      const malformed = write(path.join(tmp, uniq('mal')), { 'm.csv': 'a,b\n1,2\n1,2,3,4\n"open\n' });
      const bad = await cli(env, 'data', 'add', malformed, '-d', ds);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/m\.csv.*line \d+/);
      const unknown = await cli(env, 'data', 'show', ds);
      expect(unknown.code).toBe(3);
      expect(unknown.err).toContain(`dataset '${ds}' does not exist`);

      const ok = write(path.join(tmp, uniq('ok')), { 'a.txt': 'fine' });
      expect((await cli(env, 'data', 'add', ok, '-d', ds)).code).toBe(0);
      const noVersion = await cli(env, 'data', 'get', `${ds}@3`, path.join(tmp, uniq('d')));
      expect(noVersion.code).toBe(3);
      expect(noVersion.err).toContain(`'${ds}@3' does not exist`);
      expect((await cli(env, 'data', 'diff', `${ds}@1`, `${uniq('ghost')}@1`)).code).toBe(3);
      expect((await cli(env, 'data', 'tag', `${ds}@1`, 'latest')).code).toBe(2);
    });
  }

  it("MLflow's runs/log-inputs links a run to the dataset version whose name and digest it sends", async () => {
    const ds = uniq('mlflow');
    const dir = write(path.join(tmp, uniq('mlf')), { 'x.csv': 'a\n1\n2\n' });
    const added = addResultSchema.parse(
      JSON.parse((await cli(remote, '--json', 'data', 'add', dir, '-d', ds)).out),
    );
    const session = mlflowSession(app);
    const run = await session.newRun(await session.newExperiment());
    const res = await session.client.post('runs/log-inputs', {
      run_id: run.info.run_id,
      datasets: [
        {
          dataset: { name: ds, digest: added.version.digest.slice(0, 10), source_type: 'local', source: dir },
        },
        { dataset: { name: 'not-a-sextant-dataset', digest: 'abc12345' } },
      ],
    });
    expect(res.statusCode).toBe(200);
    const inputs = (await ws.runs.get(run.info.run_id)).inputs;
    expect(inputs.map((i) => i.datasetVersionId)).toEqual([added.version.id, null]);
  });

  it('HTTP: uploads are checked against their sha256; errors are the native error shape', async () => {
    const body = Buffer.from(uniq('some bytes'));
    const wrong = sha256Hex('other bytes');
    const put = await app.inject({
      method: 'PUT',
      url: `/api/v1/datasets/-/blobs/${wrong}`,
      payload: Buffer.from('not the announced bytes'),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(put.statusCode).toBe(400);
    expect(nativeErrorSchema.parse(put.json()).error.message).toContain('hash to');
    const sha = sha256Hex(body);
    const missing = await app.inject({
      method: 'POST',
      url: '/api/v1/datasets/-/blobs/missing',
      payload: { blobs: [{ sha256: sha, size: body.length }] },
    });
    expect(missing.json()).toEqual({ missing: [sha] });
    const ok = await app.inject({
      method: 'PUT',
      url: `/api/v1/datasets/-/blobs/${sha}`,
      payload: body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(ok.statusCode).toBe(201);
    const ds = uniq('http');
    const commit = await app.inject({
      method: 'POST',
      url: `/api/v1/datasets/${ds}/versions`,
      payload: { files: [{ path: 'b.bin', size: body.length, sha256: sha }], description: 'by http' },
    });
    expect(commit.statusCode).toBe(201);
    const again = await app.inject({
      method: 'POST',
      url: `/api/v1/datasets/${ds}/versions`,
      payload: { files: [{ path: 'b.bin', size: body.length, sha256: sha }] },
    });
    expect(again.statusCode).toBe(200);
    expect(addResultSchema.parse(again.json()).created).toBe(false);
    const shown = await app.inject({ method: 'GET', url: `/api/v1/datasets/${ds}/versions/1` });
    expect(datasetVersionSchema.parse(shown.json()).description).toBe('by http');
    const file = await app.inject({
      method: 'GET',
      url: `/api/v1/datasets/${ds}/versions/latest/files/b.bin`,
    });
    expect(file.rawPayload.equals(body)).toBe(true);
    expect(file.headers['x-sextant-sha256']).toBe(sha);
    const nf = await app.inject({ method: 'GET', url: `/api/v1/datasets/${ds}/versions/9` });
    expect(nf.statusCode).toBe(404);
    expect(nativeErrorSchema.parse(nf.json()).error.code).toBe('NOT_FOUND');
    const badPath = await app.inject({
      method: 'POST',
      url: `/api/v1/datasets/${ds}/versions`,
      payload: { files: [{ path: '../x', size: body.length, sha256: sha }] },
    });
    expect(badPath.statusCode).toBe(400);
    const audit = await ws.audit.list({ entityType: 'dataset_version', limit: 100 });
    expect(audit.some((e) => e.action === 'dataset_version.create')).toBe(true);
  });
});
