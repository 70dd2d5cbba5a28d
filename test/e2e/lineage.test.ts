import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Services, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import {
  lineageGraphSchema,
  openLineageExportSchema,
  openLineageRunEventSchema,
  runUuid,
} from '../../src/governance/index.js';
import { buildApp } from '../../src/server/app.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { nativeError, ok, uniq } from './helpers.js';

/** raw@1 -> prep run -> clean@1 (derived from raw@1) -> train run (FINISHED). */
async function seed(s: Services) {
  const names = { raw: uniq('raw'), clean: uniq('clean'), exp: uniq('exp') };
  const put = async (dataset: string, p: string, content: string, meta: Record<string, unknown> = {}) => {
    const info = await s.blobs.put(content);
    return (
      await s.data.versions.create({
        actor: 'e2e',
        dataset,
        files: [{ path: p, size: info.size, sha256: info.sha256 }],
        ...meta,
      })
    ).version;
  };
  const exp = await s.experiments.create({ actor: 'e2e', name: names.exp });
  const raw = await put(names.raw, 'raw.csv', 'a,b\n1,x\n2,y\n', { source: 'https://example.org/raw.csv' });
  const prep = await s.runs.create({ actor: 'e2e', experimentId: exp.id, name: 'prep' });
  await s.runs.logInputs({
    actor: 'e2e',
    runId: prep.id,
    datasets: [{ name: names.raw, digest: raw.digest, datasetVersionId: raw.id }],
  });
  const clean = await put(names.clean, 'clean.csv', 'a,b\n1,x\n', {
    parents: [`${names.raw}@1`],
    producedByRunId: prep.id,
  });
  await s.runs.update({ actor: 'e2e', runId: prep.id, status: 'FINISHED', endTime: Date.now() });
  const train = await s.runs.create({ actor: 'e2e', experimentId: exp.id, name: 'train' });
  await s.runs.logInputs({
    actor: 'e2e',
    runId: train.id,
    datasets: [{ name: names.clean, digest: clean.digest, datasetVersionId: clean.id }],
  });
  return { names, raw, clean, prep, train };
}

describeEachBackend('lineage over HTTP', (getStore) => {
  let t: TestApp;
  let p: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    t = await createTestApp(getStore());
    p = await seed(t.services);
  });
  afterAll(() => t.close());
  const get = (url: string) => t.app.inject({ method: 'GET', url });

  it('GET /api/v1/lineage answers the graph around a ref, both ways by default', async () => {
    const g = ok(
      await get(`/api/v1/lineage?ref=${encodeURIComponent(`${p.names.clean}@1`)}`),
      lineageGraphSchema,
    );
    expect(g.direction).toBe('both');
    expect(g.nodes.map((n) => n.ref).sort()).toEqual(
      [`${p.names.raw}@1`, `${p.names.clean}@1`, p.prep.id, p.train.id].sort(),
    );
    const up = ok(
      await get(`/api/v1/lineage?ref=${p.train.id}&direction=upstream&depth=1`),
      lineageGraphSchema,
    );
    expect(up.nodes.map((n) => n.ref).sort()).toEqual([`${p.names.clean}@1`, p.train.id].sort());
    expect(up.edges).toEqual([
      { from: `dataset_version:${p.clean.id}`, to: `run:${p.train.id}`, kind: 'input' },
    ]);
  });

  it('bad lineage queries are 4xx errors naming the problem', async () => {
    const missing = nativeError(await get(`/api/v1/lineage?ref=${uniq('nope')}@1`), 404, 'NOT_FOUND');
    expect(missing.message).toContain('does not exist');
    const depth = nativeError(
      await get(`/api/v1/lineage?ref=${p.train.id}&depth=0`),
      400,
      'VALIDATION_FAILED',
    );
    expect(depth.message).toContain('depth');
    nativeError(await get(`/api/v1/lineage?ref=${p.train.id}&direction=sideways`), 400, 'VALIDATION_FAILED');
    nativeError(await get('/api/v1/lineage'), 400, 'VALIDATION_FAILED');
  });

  it('GET /api/v1/lineage/runs/:id/openlineage exports spec-shaped RunEvents', async () => {
    const out = ok(await get(`/api/v1/lineage/runs/${p.prep.id}/openlineage`), openLineageExportSchema);
    expect(out.events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    for (const e of out.events) {
      openLineageRunEventSchema.parse(e);
      expect(e.run.runId).toBe(runUuid(p.prep.id));
      expect(e.inputs.map((d) => d.facets?.version?.datasetVersion)).toEqual([p.raw.digest]);
      expect(e.outputs.map((d) => d.facets?.version?.datasetVersion)).toEqual([p.clean.digest]);
    }
    const ns = ok(
      await get(`/api/v1/lineage/runs/${p.prep.id}/openlineage?namespace=acme`),
      openLineageExportSchema,
    );
    expect(ns.events[0]?.job.namespace).toBe('acme');
    nativeError(await get('/api/v1/lineage/runs/run_nothere/openlineage'), 404, 'NOT_FOUND');
  });
});

describe('sextant lineage: the same output locally and against a server', () => {
  let home: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let local: Record<string, string>;
  let remote: Record<string, string>;
  let p: Awaited<ReturnType<typeof seed>>;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-lineage-cli-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home }));
    p = await seed(ws);
    app = await buildApp(ws);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    local = { SEXTANT_HOME: home };
    remote = { SEXTANT_HOME: home, SEXTANT_URL: url };
  });
  afterAll(async () => {
    await app?.close();
    await ws?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    const env = () => (transport === 'local' ? local : remote);

    it(`[${transport}] text tree, --json, Mermaid and DOT`, async () => {
      const text = await cli(env(), 'lineage', `${p.names.clean}@1`);
      expect(text.code, text.err).toBe(0);
      const lines = text.out.trimEnd().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^dataset ${p.names.clean}@1 \\([0-9a-f]{12}\\)$`));
      expect(lines).toContain('upstream');
      expect(text.out).toContain(`derived from: dataset ${p.names.raw}@1`);
      expect(text.out).toContain(`produced by: run prep (${p.prep.id}) FINISHED`);
      expect(text.out).toContain(`input to: run train (${p.train.id}) RUNNING`);
      expect((await cli(env(), 'lineage', `${p.names.clean}@1`, '--both')).out).toBe(text.out);

      const json = await cli(env(), '--json', 'lineage', p.train.id, '--upstream', '--depth', '1');
      const g = lineageGraphSchema.parse(JSON.parse(json.out));
      expect(g.nodes.map((n) => n.ref).sort()).toEqual([`${p.names.clean}@1`, p.train.id].sort());

      const mermaid = await cli(env(), 'lineage', `${p.names.clean}@1`, '--format', 'mermaid');
      expect(mermaid.out.split('\n')[0]).toBe('flowchart LR');
      expect(mermaid.out.match(/-->\|/g)).toHaveLength(4);

      const dot = await cli(env(), 'lineage', `${p.names.raw}@1`, '--downstream', '--format', 'dot');
      expect(dot.out).toMatch(/^digraph lineage \{/);
      expect(dot.out).toContain(`"dataset_version:${p.raw.id}" -> "run:${p.prep.id}" [label="input"];`);
      expect(dot.out).not.toContain('upstream');
    });

    it(`[${transport}] lineage export writes the run's OpenLineage events`, async () => {
      const file = path.join(home, `${transport}-events.json`);
      const res = await cli(env(), 'lineage', 'export', '--run', p.prep.id, '--out', file);
      expect(res.code, res.err).toBe(0);
      expect(res.out).toContain(`wrote 2 OpenLineage events of ${p.prep.id}`);
      const events = (JSON.parse(fs.readFileSync(file, 'utf8')) as unknown[]).map((e) =>
        openLineageRunEventSchema.parse(e),
      );
      expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
      const nd = await cli(env(), 'lineage', 'export', '--run', p.prep.id, '--ndjson');
      expect(
        nd.out
          .trim()
          .split('\n')
          .map((l) => openLineageRunEventSchema.parse(JSON.parse(l)).eventType),
      ).toEqual(['START', 'COMPLETE']);
    });

    it(`[${transport}] bad input: one line, non-zero exit`, async () => {
      const missing = await cli(env(), 'lineage', `${uniq('nope')}@1`);
      expect(missing.code).toBe(3);
      expect(missing.err).toMatch(/^error: .*does not exist\n$/);
      const format = await cli(env(), 'lineage', p.train.id, '--format', 'png');
      expect(format.code).toBe(2);
      expect(format.err).toBe("error: --format: expected text, mermaid or dot, got 'png'\n");
      const depth = await cli(env(), 'lineage', p.train.id, '--depth', 'lots');
      expect(depth.code).toBe(2);
      expect(depth.err).toContain('--depth');
      const run = await cli(env(), 'lineage', 'export', '--run', 'run_nothere');
      expect(run.code).toBe(3);
      expect(run.err).toBe("error: run 'run_nothere' does not exist\n");
    });
  }
});
