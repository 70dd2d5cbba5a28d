import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { useCliTransports } from './fixtures/cli-transports.js';
import { uniq } from './helpers.js';

/*
 * Output a person can read: `runs ls` shows the metric it is sorted by and takes --columns, `runs
 * compare --diff` keeps only what differs and wraps long values, and a failing quality check shows the
 * columns it is about instead of whole rows.
 */

const LONG_NOTE = 'a deliberately long parameter value, '.repeat(4).trim();

/** `sextant run -- node -e <script>`: the child logs one metric through the MLflow API it is given. */
function logMetricScript(key: string, value: number): string {
  return `fetch(process.env.MLFLOW_TRACKING_URI + '/api/2.0/mlflow/runs/log-metric', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({run_id: process.env.MLFLOW_RUN_ID, key: ${JSON.stringify(key)}, value: ${value}, timestamp: Date.now(), step: 0})}).then((r) => process.exit(r.ok ? 0 : 1))`;
}

describe('readable output: runs ls, runs compare, failing checks', () => {
  const t = useCliTransports('cli-output');
  const envs = t.envs;

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] runs ls shows the sort metric first and takes --columns; compare --diff wraps`, async () => {
      const env = envs[transport];
      const exp = uniq('readable');
      const ids: string[] = [];
      for (const [lr, score] of [
        ['0.1', 0.7],
        ['0.01', 0.9],
      ] as const) {
        const r = await cli(
          env,
          '--json',
          'run',
          '-e',
          exp,
          '-p',
          `lr=${lr}`,
          '-p',
          `note=${LONG_NOTE}`,
          '--',
          process.execPath,
          '-e',
          logMetricScript('zz_score', score),
        );
        expect(r.code, r.err).toBe(0);
        ids.push((JSON.parse(r.out) as { runId: string }).runId);
      }

      // zz_score sorts last by name among five metrics; sorted by it, it is the first metric column.
      const sorted = await cli(env, 'runs', 'ls', '-e', exp, '--order-by', 'metrics.zz_score DESC');
      expect(sorted.code, sorted.err).toBe(0);
      const [header, , first, second] = sorted.out.split('\n');
      expect(header).toMatch(/^RUN\s+NAME\s+STATUS\s+STARTED\s+DURATION\s+ZZ_SCORE\s/);
      expect(first).toMatch(/\s0\.9\s/);
      expect(second).toMatch(/\s0\.7\s/);

      const picked = await cli(env, 'runs', 'ls', '-e', exp, '--columns', 'name,params.lr,metrics.zz_score');
      expect(picked.out.split('\n')[0]).toMatch(/^NAME\s+PARAMS\.LR\s+METRICS\.ZZ_SCORE$/);
      expect(picked.out).toMatch(/\s0\.01\s+0\.9\n/);
      const bad = await cli(env, 'runs', 'ls', '-e', exp, '--columns', 'name,colour');
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/^error: --columns: 'colour' is not a column/);

      const full = await cli(env, 'runs', 'compare', ...ids);
      expect(full.out).toContain('params.note');
      // The 150-character note is cut into lines of at most 40 characters, each piece in its column.
      expect(full.out).not.toContain(LONG_NOTE);
      expect(Math.max(...full.out.split('\n').map((l) => l.length))).toBeLessThanOrEqual(32 + 2 * 42);
      const diff = await cli(env, 'runs', 'compare', '--diff', ...ids);
      expect(diff.code).toBe(0);
      expect(diff.out).toMatch(/params\.lr\s+0\.1\s+0\.01/);
      expect(diff.out).toMatch(/metrics\.zz_score\s+0\.7\s+0\.9/);
      expect(diff.out).not.toContain('params.note');
    });

    it(`[${transport}] a failing check shows the columns it is about, not whole rows`, async () => {
      const env = envs[transport];
      const ds = uniq('wide');
      fs.mkdirSync(path.join(t.dir, ds));
      const header = ['id', 'age', ...Array.from({ length: 20 }, (_, i) => `extra_${i}`)];
      const rows = Array.from({ length: 10 }, (_, i) => [
        i,
        i === 3 ? 7 : 30,
        ...header.slice(2).map(() => 'x'),
      ]);
      fs.writeFileSync(
        path.join(t.dir, ds, 'wide.csv'),
        [header, ...rows].map((r) => r.join(',')).join('\n'),
      );
      expect((await cli(env, 'data', 'add', path.join(t.dir, ds), '--dataset', ds)).code).toBe(0);
      const suite = path.join(t.dir, `${ds}.yaml`);
      fs.writeFileSync(
        suite,
        'name: adults\nexpectations:\n  - between: { column: age, min: 18, max: 99 }\n',
      );
      const r = await cli(env, 'data', 'validate', `${ds}@1`, '--suite', suite);
      expect(r.code).toBe(9);
      expect(r.out).toMatch(/examples failing #1 between \(1 rows\):\n {2}age=7\n/);
      expect(r.out).not.toContain('extra_0');
      const json = await cli(env, '--json', 'data', 'validate', `${ds}@1`, '--suite', suite);
      expect(JSON.parse(json.out).results[0].examples[0]).toHaveProperty('extra_0');
    });
  }
});
