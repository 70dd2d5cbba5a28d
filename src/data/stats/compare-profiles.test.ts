import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import { profileTableFile } from '../tables/index.js';
import { compareProfiles, defaultTest, sampleColumnDrift } from './index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-compare-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A table of n rows: age ~ N(40 + ageShift, 10), segment with given weights, a binary flag. */
function table(name: string, seed: number, n: number, ageShift: number, weights: number[]): string {
  const rand = seededRandom(seed);
  const segs = ['a', 'b', 'c', 'd'];
  const lines = ['age,segment,flag,when'];
  for (let i = 0; i < n; i++) {
    const age =
      40 + ageShift + 10 * Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
    let u = rand();
    let k = 0;
    while (k < weights.length - 1 && u > (weights[k] as number)) u -= weights[k++] as number;
    lines.push(`${age.toFixed(3)},${segs[k]},${rand() < 0.3 ? 1 : 0},2024-01-01`);
  }
  const p = path.join(dir, name);
  fs.writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

describe('defaultTest (Evidently-like)', () => {
  it('chooses hypothesis tests for small references and distances for large ones', () => {
    expect(defaultTest({ kind: 'numeric', referenceRows: 500, referenceUniques: 400 })).toBe('ks');
    expect(defaultTest({ kind: 'numeric', referenceRows: 500, referenceUniques: 4 })).toBe('chi_squared');
    expect(defaultTest({ kind: 'categorical', referenceRows: 500, referenceUniques: 2 })).toBe('z_test');
    expect(defaultTest({ kind: 'numeric', referenceRows: 5000, referenceUniques: 4000 })).toBe('wasserstein');
    expect(defaultTest({ kind: 'categorical', referenceRows: 5000, referenceUniques: 8 })).toBe(
      'jensen_shannon',
    );
  });
});

describe('compareProfiles', () => {
  it('finds no drift between two samples of one distribution', async () => {
    const ref = await profileTableFile(table('r1.csv', 1, 5000, 0, [0.4, 0.3, 0.2, 0.1]), 'csv');
    const cur = await profileTableFile(table('c1.csv', 2, 3000, 0, [0.4, 0.3, 0.2, 0.1]), 'csv');
    const report = compareProfiles(ref.profile, cur.profile);
    expect(report.drift).toBe(false);
    expect(report.driftedColumns).toBe(0);
    const age = report.columns.find((c) => c.name === 'age');
    expect(age).toMatchObject({ test: 'wasserstein', drifted: false, approximate: true });
    expect(report.columns.find((c) => c.name === 'segment')?.test).toBe('jensen_shannon');
    expect(report.columns.find((c) => c.name === 'when')?.skipped).toMatch(/time columns/);
    expect(report.testedColumns).toBe(3);
  });

  it('flags shifted columns and calls the dataset drifted when half of them moved', async () => {
    const ref = await profileTableFile(table('r2.csv', 3, 5000, 0, [0.4, 0.3, 0.2, 0.1]), 'csv');
    const cur = await profileTableFile(table('c2.csv', 4, 3000, 5, [0.1, 0.2, 0.3, 0.4]), 'csv');
    const report = compareProfiles(ref.profile, cur.profile);
    const age = report.columns.find((c) => c.name === 'age');
    // A shift of half a standard deviation: Wasserstein / std is about 0.5.
    expect(age?.distance).toBeGreaterThan(0.4);
    expect(age?.distance).toBeLessThan(0.6);
    expect(age?.drifted).toBe(true);
    expect(report.columns.find((c) => c.name === 'segment')?.drifted).toBe(true);
    expect(report.columns.find((c) => c.name === 'flag')?.drifted).toBe(false);
    expect(report.driftedColumns).toBe(2);
    expect(report.driftShare).toBeCloseTo(2 / 3, 10);
    expect(report.drift).toBe(true);
    expect(report.columns.find((c) => c.name === 'segment')?.psi).toBeGreaterThan(0.25);
  });

  it('uses KS and chi-squared when the reference is small, and reports schema differences', async () => {
    const ref = await profileTableFile(table('r3.csv', 5, 800, 0, [0.25, 0.25, 0.25, 0.25]), 'csv');
    const curPath = table('c3.csv', 6, 800, 4, [0.25, 0.25, 0.25, 0.25]);
    fs.writeFileSync(
      curPath,
      fs
        .readFileSync(curPath, 'utf8')
        .replace(/,2024-01-01/g, '')
        .replace('age,segment,flag,when', 'age,segment,flag'),
    );
    const cur = await profileTableFile(curPath, 'csv');
    const report = compareProfiles(ref.profile, cur.profile);
    expect(report.schema.removed.map((c) => c.name)).toEqual(['when']);
    const age = report.columns.find((c) => c.name === 'age');
    expect(age?.test).toBe('ks');
    expect(age?.pValue).toBeLessThan(0.05);
    expect(age?.drifted).toBe(true);
    expect(report.columns.find((c) => c.name === 'segment')?.test).toBe('chi_squared');
    expect(report.columns.find((c) => c.name === 'flag')?.test).toBe('z_test');
  });

  it('honours a per-column test override and threshold', async () => {
    const ref = await profileTableFile(table('r4.csv', 7, 5000, 0, [0.4, 0.3, 0.2, 0.1]), 'csv');
    const cur = await profileTableFile(table('c4.csv', 8, 5000, 1, [0.4, 0.3, 0.2, 0.1]), 'csv');
    const loose = compareProfiles(ref.profile, cur.profile, {
      tests: { age: 'psi' },
      thresholds: { psi: 0.5 },
    });
    expect(loose.columns.find((c) => c.name === 'age')).toMatchObject({
      test: 'psi',
      threshold: 0.5,
      drifted: false,
    });
    const strict = compareProfiles(ref.profile, cur.profile, {
      tests: { age: 'psi' },
      thresholds: { psi: 0.001 },
    });
    expect(strict.columns.find((c) => c.name === 'age')?.drifted).toBe(true);
  });
});

describe('sampleColumnDrift (raw values)', () => {
  it('is exact and agrees with the profile-based verdict', () => {
    const rand = seededRandom(11);
    const a = Array.from({ length: 400 }, () => rand());
    const b = Array.from({ length: 400 }, () => rand() + 0.2);
    const r = sampleColumnDrift('u', 'float', a, b);
    expect(r).toMatchObject({ test: 'ks', approximate: false, drifted: true });
    expect(r.statistic).toBeGreaterThan(0.15);
    const same = sampleColumnDrift(
      'u',
      'float',
      a,
      Array.from({ length: 400 }, () => rand()),
    );
    expect(same.drifted).toBe(false);
    expect(sampleColumnDrift('c', 'string', ['x', 'y', 'x', null], ['x', 'y']).test).toBe('z_test');
  });
});
