import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes } from '../../src/cli/exit-codes.js';
import { writeCreditCsv } from '../../src/ml/index.js';
import type { ModelCiReport } from '../../src/pipelines/ci/index.js';
import { cli } from '../support/cli.js';

/*
 * `sextant ci <model ref>` on a real workspace (SQLite): two trained versions of one model, the first
 * the champion; the candidate and the champion are scored on the same holdout, the policy's gates run
 * as a dry run, and the Markdown report and the exit code say whether a gate blocks.
 */

describe('sextant ci: a candidate against the champion on one holdout, gated by the policy', () => {
  let dir: string;
  let env: Record<string, string>;
  const ok = async (...argv: string[]) => {
    const r = await cli(env, ...argv);
    if (r.code !== 0) throw new Error(`sextant ${argv.join(' ')}: ${r.err}`);
    return r.out;
  };
  const addCredit = async (dataset: string, opts: Parameters<typeof writeCreditCsv>[1]) => {
    const d = fs.mkdtempSync(path.join(dir, `${dataset}-`));
    writeCreditCsv(path.join(d, 'credit.csv'), opts);
    await ok('data', 'add', d, '-d', dataset);
  };
  const train = async (dataset: string, model: string) =>
    (
      JSON.parse(
        await ok('--json', 'train', '-d', dataset, '--target', 'defaulted', '-m', model, '--seed', '3'),
      ) as {
        runId: string;
      }
    ).runId;
  const policy = async (yaml: string) => {
    const f = path.join(dir, 'policy.yaml');
    fs.writeFileSync(f, yaml);
    await ok('models', 'policy', 'set', 'credit-risk', f);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-ci-'));
    env = { SEXTANT_HOME: path.join(dir, 'home') };
    await addCredit('credit-train', { rows: 1200, seed: 1 });
    await addCredit('credit-train', { rows: 1600, seed: 2 });
    await addCredit('credit-holdout', { rows: 700, seed: 9 });
    const first = await train('credit-train@1', 'linear');
    const second = await train('credit-train@2', 'linear');
    await ok('models', 'register', 'credit-risk', '--run', first);
    await ok('models', 'register', 'credit-risk', '--run', second);
    // No protected alias here: the champion is set directly, as the starting point.
    await policy('protectedAliases: []\napprovals: 0\ngates: []\n');
    await ok('models', 'set-alias', 'credit-risk@1', 'champion');
  }, 180_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("passing gates: exit 0, the report has metric deltas, both sides' training data and the gates", async () => {
    await policy(
      'protectedAliases: [champion]\napprovals: 1\ngates:\n  - metric: "val_roc_auc >= champion.val_roc_auc - 0.2"\n',
    );
    const report = path.join(dir, 'ci-pass.md');
    const r = await cli(env, 'ci', 'credit-risk@2', '--holdout', 'credit-holdout@1', '--report', report);
    expect(r.code, r.err).toBe(0);
    const md = fs.readFileSync(report, 'utf8');
    fs.writeFileSync(`/tmp/p2-${path.basename(report)}`, md);
    expect(md).toContain('## Sextant CI: `credit-risk@2` vs champion `credit-risk@1`');
    expect(md).toContain('**✅ Gates passed**');
    expect(md).toMatch(/Holdout `credit-holdout@1` \(digest `[0-9a-f]{12}`, 700 rows\)/);
    expect(md).toMatch(/\| roc_auc \| 0\.\d+ \| 0\.\d+ \| [+-]?\d/);
    expect(md).toMatch(/\| candidate \| `credit-train@2` \| `[0-9a-f]{12}` \| 1,600 \|/);
    expect(md).toMatch(/\| champion \| `credit-train@1` \| `[0-9a-f]{12}` \| 1,200 \|/);
    expect(md).toContain('| `metric: val_roc_auc >= champion.val_roc_auc - 0.2` | ✅ pass |');
    expect(md).toContain('sextant models promote credit-risk@2 --alias champion');

    // The JSON carries the same numbers: the delta is candidate - champion on the same holdout.
    const j = JSON.parse(
      (await cli(env, '--json', 'ci', 'credit-risk@2', '--holdout', 'credit-holdout@1')).out,
    ) as ModelCiReport;
    const auc = j.metrics.find((m) => m.metric === 'roc_auc')!;
    expect(auc.delta).toBeCloseTo(auc.candidate - auc.champion!, 12);
    expect(j.holdout.rows).toBe(700);
    // A dry run: no promotion request was opened.
    expect(JSON.parse(await ok('--json', 'models', 'requests'))).toEqual([]);
  });

  it('a failing gate: exit 10 (blocked by policy), the report says which gate and why', async () => {
    await policy(
      'protectedAliases: [champion]\ngates:\n  - metric: "val_roc_auc >= 0.999"\n  - documentation: [description]\n',
    );
    const report = path.join(dir, 'ci-fail.md');
    const r = await cli(env, 'ci', 'credit-risk@2', '--holdout', 'credit-holdout@1', '--report', report);
    expect(r.code).toBe(exitCodes.blockedByPolicy);
    expect(r.err).toContain("credit-risk@2 is blocked for 'champion'");
    const md = fs.readFileSync(report, 'utf8');
    fs.writeFileSync(`/tmp/p2-${path.basename(report)}`, md);
    expect(md).toContain('**❌ Blocked by policy**: 2 of 2 gate(s)');
    expect(md).toMatch(
      /\| `metric: val_roc_auc >= 0.999` \| ❌ fail \| val_roc_auc = 0\.\d+ does not satisfy >= 0.999 \|/,
    );
    expect(md).toContain('| `documentation: description` | ❌ fail | missing: description |');
    expect(md).not.toContain('sextant models promote');
  });

  it('bad input: no holdout, an unknown model, a missing dataset version', async () => {
    expect((await cli(env, 'ci', 'credit-risk@2')).code).toBe(exitCodes.usage);
    expect((await cli(env, 'ci', 'no-such-model@1', '--holdout', 'credit-holdout@1')).code).toBe(
      exitCodes.notFound,
    );
    expect((await cli(env, 'ci', 'credit-risk@2', '--holdout', 'credit-holdout@7')).code).toBe(
      exitCodes.notFound,
    );
    expect((await cli(env, 'ci', 'credit-risk@2', '--holdout', 'credit-holdout')).code).toBe(exitCodes.usage);
  });

  it('a pipeline: run to its end; a second run is a cache hit; a failing step exits 9 naming it', async () => {
    const spec = (name: string, second: string) => {
      const f = path.join(dir, `${name}.yaml`);
      fs.writeFileSync(
        f,
        [
          `name: ${name}`,
          'steps:',
          '  prepare:',
          '    run: echo "rows=3" >> $SEXTANT_OUTPUT',
          '    outputs: { rows: {} }',
          '  check:',
          `    run: ${second}`,
          '    needs: [prepare]',
        ].join('\n'),
      );
      return f;
    };
    const good = spec('ci-good', 'echo checked');
    const report = path.join(dir, 'ci-pipeline.md');
    const first = await cli(env, 'ci', good, '--report', report);
    expect(first.code, first.err).toBe(0);
    expect(fs.readFileSync(report, 'utf8')).toMatch(/\*\*✅ Succeeded\*\*: 2 step\(s\), 0 from the cache\./);
    const again = await cli(env, 'ci', 'ci-good', '--report', report);
    expect(again.code, again.err).toBe(0);
    const md = fs.readFileSync(report, 'utf8');
    expect(md).toContain('2 step(s), 2 from the cache.');
    expect(md).toMatch(/\| `prepare` \| ♻️ cache hit \|/);

    const bad = spec('ci-bad', 'echo "threshold not met" && exit 4');
    const failed = await cli(env, 'ci', bad, '--report', report);
    expect(failed.code).toBe(exitCodes.checkFailed);
    expect(failed.err).toContain("step 'check' failed");
    const badMd = fs.readFileSync(report, 'utf8');
    expect(badMd).toContain('at step `check`');
    expect(badMd).toMatch(/\| `check` \| ❌ failed \| [\d.]+ s \| 4 \|/);
    expect(badMd).toContain('threshold not met');
  }, 120_000);
});
