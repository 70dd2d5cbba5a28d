import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { sha256Hex } from '../../src/core/hashing.js';
import {
  comparisonResultSchema,
  latestResultSchema,
  validationResultSchema,
} from '../../src/data/quality/index.js';
import { profileTableFile } from '../../src/data/tables/index.js';
import { buildApp } from '../../src/server/app.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { nativeErrorSchema, uniq } from './helpers.js';

const TRAIN = [
  'id,age,segment,income',
  ...Array.from(
    { length: 200 },
    (_, i) => `${i + 1},${20 + (i % 50)},${['a', 'b', 'c'][i % 3]},${1000 + i * 10}`,
  ),
].join('\n');
const PROD = [
  'id,age,segment,income',
  ...Array.from(
    { length: 200 },
    (_, i) => `${i + 1},${45 + (i % 50)},${['c', 'c', 'b'][i % 3]},${1000 + i * 10}`,
  ),
].join('\n');

const GOOD_SUITE = `name: train-checks
expectations:
  - not_null: { column: id }
  - unique: { column: id }
  - between: { column: age, min: 18, max: 100 }
  - in_set: { column: segment, values: [a, b, c] }
  - row_count: { min: 100 }
`;
const BAD_SUITE = `name: strict
expectations:
  - between: { column: age, min: 30, max: 40 }
  - row_count: { min: 100 }
`;

async function addVersion(t: TestApp, dataset: string, text: string, file = 'train.csv') {
  const info = await t.services.blobs.put(text);
  const r = await t.services.data.versions.create({
    actor: 'alice',
    dataset,
    files: [{ path: file, size: info.size, sha256: info.sha256 }],
  });
  return r.version;
}

describeEachBackend('data quality: suites stored with versions', (getStore) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(getStore());
  });
  afterAll(() => t.close());

  it('a passing and a failing validation are stored with the version, audited, and the latest per suite is readable', async () => {
    const ds = uniq('credit');
    const v = await addVersion(t, ds, TRAIN);
    const ok = await t.services.dataQuality.validate({
      actor: 'alice',
      ref: `${ds}@1`,
      suiteYaml: GOOD_SUITE,
    });
    expect(ok).toMatchObject({
      passed: true,
      total: 5,
      failed: 0,
      versionId: v.id,
      table: 'train.csv',
      suite: 'train-checks',
    });
    expect(ok.suiteDigest).toBe(sha256Hex(GOOD_SUITE));
    const bad = await t.services.dataQuality.validate({ actor: 'bob', ref: ds, suiteYaml: BAD_SUITE });
    expect(bad).toMatchObject({ passed: false, failed: 1, total: 2 });
    expect(bad.results[0]).toMatchObject({ kind: 'between', passed: false, failingRows: 156 });
    expect(bad.results[0]?.examples).toHaveLength(5);
    for (const row of bad.results[0]?.examples ?? []) {
      expect((row.age as number) < 30 || (row.age as number) > 40).toBe(true);
    }

    const stored = await t.services.dataQuality.results(`${ds}@1`);
    expect(stored.map((r) => r.id)).toEqual([bad.id, ok.id]);
    expect(stored[0]).toEqual(bad);
    const latest = await t.services.dataQuality.latestResults(v.id);
    expect(latest.map((l) => [l.suite, l.passed]).sort()).toEqual([
      ['strict', false],
      ['train-checks', true],
    ]);

    // A later, passing run of the same suite replaces it as the latest.
    const fixed = BAD_SUITE.replace('min: 30, max: 40', 'min: 0, max: 100');
    await t.services.dataQuality.validate({ actor: 'bob', ref: ds, suiteYaml: fixed });
    expect((await t.services.dataQuality.latestResults(v.id)).find((l) => l.suite === 'strict')?.passed).toBe(
      true,
    );

    const audit = await t.services.audit.list({ entityType: 'dataset_version', entityId: v.id });
    expect(audit.filter((e) => e.action === 'dataset_version.validate').map((e) => e.actor)).toEqual(
      expect.arrayContaining(['alice', 'bob']),
    );
  });

  it('a suite naming a column the table lacks is refused and nothing is stored', async () => {
    const ds = uniq('credit');
    const v = await addVersion(t, ds, TRAIN);
    await expect(
      t.services.dataQuality.validate({
        actor: 'alice',
        ref: ds,
        suiteYaml: 'name: s\nexpectations:\n  - not_null: { column: salary }\n',
      }),
    ).rejects.toThrow("suite.expectations[0].not_null: column 'salary' is not in table 'train.csv'");
    await expect(
      t.services.dataQuality.validate({
        actor: 'alice',
        ref: ds,
        suiteYaml: 'name: s\nexpectations:\n  - sparkle: {}\n',
      }),
    ).rejects.toThrow(/unknown expectation 'sparkle'/);
    await expect(
      t.services.dataQuality.validate({ actor: 'alice', ref: `${ds}@9`, suiteYaml: GOOD_SUITE }),
    ).rejects.toThrow(/does not exist|not found/i);
    expect(await t.services.dataQuality.results(ds)).toEqual([]);
    expect(await t.services.dataQuality.latestResults(v.id)).toEqual([]);
  });

  it('the HTTP API validates, lists, suggests and compares', async () => {
    const ds = uniq('credit');
    await addVersion(t, ds, TRAIN);
    await addVersion(t, ds, PROD);
    const posted = await t.app.inject({
      method: 'POST',
      url: `/api/v1/datasets/${ds}/versions/1/validations`,
      payload: { suite: GOOD_SUITE },
    });
    expect(posted.statusCode).toBe(201);
    const result = validationResultSchema.parse(posted.json());
    expect(result.passed).toBe(true);

    const listed = await t.app.inject({
      method: 'GET',
      url: `/api/v1/datasets/${ds}/versions/1/validations`,
    });
    expect(
      z.object({ validations: z.array(validationResultSchema) }).parse(listed.json()).validations[0]?.id,
    ).toBe(result.id);
    const latest = await t.app.inject({
      method: 'GET',
      url: `/api/v1/datasets/${ds}/versions/1/validations/latest`,
    });
    expect(z.object({ latest: z.array(latestResultSchema) }).parse(latest.json()).latest).toEqual([
      { suite: 'train-checks', passed: true, at: result.createdAt },
    ]);

    const bad = await t.app.inject({
      method: 'POST',
      url: `/api/v1/datasets/${ds}/versions/1/validations`,
      payload: { suite: 'name: s\nexpectations:\n  - regex: { column: nope, pattern: x }\n' },
    });
    expect(bad.statusCode).toBe(400);
    expect(nativeErrorSchema.parse(bad.json()).error.message).toMatch(/column 'nope' is not in table/);

    const suggested = await t.app.inject({
      method: 'GET',
      url: `/api/v1/datasets/${ds}/versions/1/suggested-suite`,
    });
    const yaml = z.object({ yaml: z.string() }).parse(suggested.json()).yaml;
    expect(yaml).toContain('in_set: { column: "segment", values: ["a", "b", "c"] }');
    // A suite drafted from a version's profile passes on that version.
    const again = await t.services.dataQuality.validate({ actor: 'alice', ref: `${ds}@1`, suiteYaml: yaml });
    expect(again.results.filter((r) => !r.passed)).toEqual([]);
    // ... and catches the production sample's shift.
    const onProd = await t.services.dataQuality.validate({ actor: 'alice', ref: `${ds}@2`, suiteYaml: yaml });
    expect(onProd.results.filter((r) => !r.passed).map((r) => r.kind)).toContain('between');

    const compared = await t.app.inject({
      method: 'POST',
      url: '/api/v1/datasets/-/compare',
      payload: { reference: { ref: `${ds}@1` }, current: { ref: `${ds}@2` } },
    });
    expect(compared.statusCode).toBe(200);
    const report = comparisonResultSchema.parse(compared.json());
    expect(report.reference).toBe(`${ds}@1`);
    expect(report.columns.find((c) => c.name === 'age')).toMatchObject({ test: 'ks', drifted: true });
    expect(report.columns.find((c) => c.name === 'income')?.drifted).toBe(false);
    expect(report.drift).toBe(true);

    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/v1/datasets/-/compare',
      payload: { reference: { ref: `${ds}@1` }, current: { ref: `${uniq('nope')}@1` } },
    });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('sextant data validate | suggest | compare | profile', () => {
  let tmp: string;
  let env: Record<string, string>;
  let remote: Record<string, string>;
  let ws: Workspace;
  let app: FastifyInstance;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-dq-cli-'));
    env = { SEXTANT_HOME: path.join(tmp, 'home') };
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: path.join(tmp, 'server') }));
    app = await buildApp(ws);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    remote = { SEXTANT_HOME: path.join(tmp, 'client'), SEXTANT_URL: url };
  });
  afterAll(async () => {
    await app.close();
    await ws.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] adds a training set, validates it, drafts a suite, and compares a production sample`, async () => {
      const env2 = transport === 'local' ? env : remote;
      const ds = uniq('credit');
      const train = path.join(tmp, ds, 'train', 'train.csv');
      const prod = path.join(tmp, ds, 'prod', 'train.csv');
      fs.mkdirSync(path.dirname(train), { recursive: true });
      fs.mkdirSync(path.dirname(prod), { recursive: true });
      fs.writeFileSync(train, TRAIN);
      fs.writeFileSync(prod, PROD);
      const suite = path.join(tmp, `${ds}-suite.yaml`);
      fs.writeFileSync(suite, GOOD_SUITE);
      const bad = path.join(tmp, `${ds}-bad.yaml`);
      fs.writeFileSync(bad, BAD_SUITE);

      const added = await cli(env2, 'data', 'add', path.dirname(train), '--dataset', ds);
      expect(added.code, added.err).toBe(0);

      const ok = await cli(env2, 'data', 'validate', `${ds}@1`, '--suite', suite);
      expect(ok.code, ok.err).toBe(0);
      expect(ok.out).toMatch(/PASSED: 5 of 5 expectations/);

      const failed = await cli(env2, 'data', 'validate', `${ds}@1`, '--suite', bad);
      expect(failed.code).toBe(2);
      expect(failed.out).toMatch(/FAILED: 1 of 2 expectations failed/);
      expect(failed.out).toMatch(/examples failing #1 between \(156 rows\)/);
      expect(failed.err).toMatch(new RegExp(`suite 'strict' failed on ${ds}@1`));

      const listed = await cli(env2, '--json', 'data', 'validations', `${ds}@1`);
      expect(JSON.parse(listed.out).map((r: { passed: boolean }) => r.passed)).toEqual([false, true]);

      const drafted = path.join(tmp, `${ds}-drafted.yaml`);
      const suggested = await cli(env2, 'data', 'suggest', ds, '-o', drafted);
      expect(suggested.code, suggested.err).toBe(0);
      expect((await cli(env2, 'data', 'validate', ds, '--suite', drafted)).code).toBe(0);

      const missing = await cli(env2, 'data', 'validate', ds, '--suite', path.join(tmp, 'none.yaml'));
      expect(missing.code).toBe(2);
      expect(missing.err).toMatch(/--suite: file .* does not exist/);

      // The current side is a local file, profiled on the fly.
      const compared = await cli(env2, 'data', 'compare', `${ds}@1`, prod);
      expect(compared.code, compared.err).toBe(0);
      expect(compared.out).toMatch(/age\s+integer\s+ks\s+p=\S+\s+0\.05\s+\S+\s+DRIFT/);
      expect(compared.out).toMatch(/DATASET DRIFT: 2 of 4 columns drifted/);
      const asJson = await cli(env2, '--json', 'data', 'compare', train, `${ds}@1`);
      expect(comparisonResultSchema.parse(JSON.parse(asJson.out)).drift).toBe(false);

      const ghost = await cli(env2, 'data', 'compare', `${ds}@1`, `${uniq('ghost')}@1`);
      expect(ghost.code).toBe(3);

      const profiled = await cli(env2, 'data', 'profile', train);
      expect(profiled.out).toMatch(/200 rows, 4 columns/);
      expect(profiled.out).toMatch(/segment\s+string\s+0\s+3/);
    });
  }

  it('a malformed CSV is reported with its file and line', async () => {
    const broken = path.join(tmp, 'broken.csv');
    fs.writeFileSync(broken, 'a,b\n1,2\n3,4,5\n');
    const r = await cli(env, 'data', 'profile', broken);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/malformed CSV '.*broken\.csv' at line 3/);
    const p = await profileTableFile(broken, 'csv').catch((e: Error) => e);
    expect(p).toBeInstanceOf(Error);
  });
});
