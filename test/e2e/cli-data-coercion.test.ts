import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetVersionSchema } from '../../src/data/index.js';
import { cli } from '../support/cli.js';
import { useCliTransports } from './fixtures/cli-transports.js';
import { uniq } from './helpers.js';

/*
 * Data is not silently coerced: the usual null tokens are nulls, a semicolon-separated file is read by
 * its delimiter (and says so), a column that is text only because of a few cells names them, and
 * training warns about identifiers and features that give the target away.
 */

describe('data that is not silently coerced', () => {
  const t = useCliTransports('cli-coercion');
  const envs = t.envs;

  /** A folder holding one CSV file, added as a new dataset; returns the dataset name and the CLI result. */
  async function add(env: Record<string, string>, file: string, lines: string[]) {
    const dataset = uniq(file.replace(/\W/g, '-'));
    fs.mkdirSync(path.join(t.dir, dataset));
    fs.writeFileSync(path.join(t.dir, dataset, file), `${lines.join('\n')}\n`);
    const r = await cli(env, 'data', 'add', path.join(t.dir, dataset), '--dataset', dataset);
    expect(r.code, r.err).toBe(0);
    const shown = await cli(env, '--json', 'data', 'show', `${dataset}@1`);
    return { dataset, added: r, version: datasetVersionSchema.parse(JSON.parse(shown.out)) };
  }

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] null tokens are nulls; a semicolon file is split by its delimiter and says so`, async () => {
      const env = envs[transport];
      const rows = Array.from({ length: 30 }, (_, i) => `${i},${1000 + i}`);
      const na = await add(env, 'income.csv', ['id,income', ...rows, '30,n/a', '31,NA', '32,', '33,null']);
      const income = na.version.tables[0]?.profile.columns.find((c) => c.name === 'income');
      expect(income).toMatchObject({ type: 'integer', nulls: 4 });
      expect(na.added.err).toBe('');

      const semi = await add(env, 'semi.csv', ['id;city;score', '1;Paris;3', '2;Lyon;4', '3;Nice;5']);
      expect(semi.version.tables[0]?.schema.columns.map((c) => [c.name, c.type])).toEqual([
        ['id', 'integer'],
        ['city', 'string'],
        ['score', 'integer'],
      ]);
      expect(semi.added.err).toContain("note: semi.csv: detected delimiter ';' (from the header line)");
      expect((await cli(env, 'data', 'show', `${semi.dataset}@1`)).out).toContain(
        "note: detected delimiter ';'",
      );
    });

    it(`[${transport}] a mostly numeric column made text by a few cells names them`, async () => {
      const env = envs[transport];
      const rows = Array.from({ length: 40 }, (_, i) => `${i},${2000 + i}`);
      const mixed = await add(env, 'salary.csv', [
        'id,salary',
        ...rows,
        '40,unknown',
        '41,12k',
        '42,unknown',
      ]);
      expect(mixed.version.tables[0]?.schema.columns.find((c) => c.name === 'salary')?.type).toBe('string');
      expect(mixed.added.err).toContain(
        "note: salary.csv: column 'salary' is text because of 3 of 43 cells that are not numbers: 'unknown' (2x, lines 42, 44), '12k' (1x, line 43)",
      );
    });

    it(`[${transport}] --null-values chooses the null tokens; the version records them and every reader uses them`, async () => {
      const env = envs[transport];
      const dataset = uniq('survey');
      const folder = path.join(t.dir, dataset);
      fs.mkdirSync(folder);
      const rows = Array.from({ length: 60 }, (_, i) => {
        const y = i % 2;
        const income = i === 7 ? '?' : i === 11 ? '-' : i === 13 ? '"?"' : String(1000 + i * 13);
        return `${(i * 7) % 5},${income},${y}`;
      });
      fs.writeFileSync(path.join(folder, 'survey.csv'), `${['grp,income,label', ...rows].join('\n')}\n`);
      const read = async (n: number) =>
        datasetVersionSchema.parse(
          JSON.parse((await cli(env, '--json', 'data', 'show', `${dataset}@${n}`)).out),
        );

      // The usual list: '?' and '-' are text, and the note names their lines.
      const plain = await cli(env, 'data', 'add', folder, '--dataset', dataset);
      expect(plain.code, plain.err).toBe(0);
      expect(plain.err).toContain("'?' (2x, lines 9, 15), '-' (1x, line 13)");
      expect((await read(1)).tables[0]?.schema.nullValues).toBeUndefined();

      // Its own list: a new version of the same files (how they are read is part of what they hold).
      const chosen = await cli(env, 'data', 'add', folder, '--dataset', dataset, '--null-values', '?,-');
      expect(chosen.code, chosen.err).toBe(0);
      expect(chosen.err).toBe('');
      const v2 = await read(2);
      expect(v2.tables[0]?.schema.nullValues).toEqual(['', '-', '?']);
      expect(v2.tables[0]?.profile.columns.find((c) => c.name === 'income')).toMatchObject({
        type: 'integer',
        nulls: 3,
      });
      expect((await cli(env, 'data', 'show', `${dataset}@2`)).out).toContain(
        "null values: (empty cell), '-', '?'",
      );
      // The same list in another order is the same version.
      const again = await cli(env, 'data', 'add', folder, '--dataset', dataset, '--null-values', '-,?');
      expect(again.out).toContain(`unchanged: the same content is already ${dataset}@2`);

      // Quality suites and training read the version with its list: income is a number to both.
      const suite = path.join(t.dir, `${dataset}.yaml`);
      fs.writeFileSync(
        suite,
        'name: incomes\nexpectations:\n  - between: { column: income, min: 1000, max: 2000 }\n',
      );
      const valid = await cli(env, 'data', 'validate', `${dataset}@2`, '--suite', suite);
      expect(valid.code, valid.out + valid.err).toBe(0);
      const trained = await cli(env, 'train', '-d', `${dataset}@2`, '--target', 'label', '-m', 'linear');
      expect(trained.code, trained.err).toBe(0);
      expect(trained.err).not.toContain('income');
      const textual = await cli(env, 'train', '-d', `${dataset}@1`, '--target', 'label', '-m', 'linear');
      expect(textual.err).toContain("'income'");

      // A list with an empty token is a usage error naming the flag.
      const bad = await cli(env, 'data', 'add', folder, '--dataset', dataset, '--null-values', 'NA,,?');
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/^error: --null-values: 'NA,,\?' has an empty token/);
    });

    it(`[${transport}] train warns about an identifier and a feature that leaks the target`, async () => {
      const env = envs[transport];
      const rows = Array.from({ length: 60 }, (_, i) => {
        const y = i % 3 === 0 ? 1 : 0;
        return `c${String(i).padStart(3, '0')},${20 + ((i * 7) % 40)},${y * 100 + (i % 2)},${y}`;
      });
      const { dataset } = await add(env, 'loans.csv', ['customer,age,paid_late_fee,defaulted', ...rows]);
      const r = await cli(env, 'train', '-d', `${dataset}@1`, '--target', 'defaulted', '-m', 'linear');
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain("warning: feature 'customer' is unique per row (60 values in 60 rows)");
      expect(r.err).toMatch(
        /warning: feature 'paid_late_fee' correlates with the target 'defaulted' at 1\.000/,
      );
      expect(r.err).not.toContain("feature 'age'");
      const json = await cli(
        env,
        '--json',
        'train',
        '-d',
        `${dataset}@1`,
        '--target',
        'defaulted',
        '-m',
        'linear',
      );
      const trained = JSON.parse(json.out) as { runId: string; warnings: string[] };
      expect(trained.warnings).toHaveLength(2);

      // A version registered from that run names the run beside its id.
      const model = uniq('loans-model');
      expect((await cli(env, 'models', 'register', model, '--run', trained.runId)).code).toBe(0);
      const runName = (
        JSON.parse((await cli(env, '--json', 'runs', 'show', trained.runId)).out) as { name: string }
      ).name;
      expect((await cli(env, 'models', 'show', `${model}@1`)).out).toMatch(
        new RegExp(`run\\s+${trained.runId} \\(${runName}, by `),
      );
    });
  }
});
