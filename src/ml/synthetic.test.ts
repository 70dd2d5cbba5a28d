import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rocAuc } from './metrics.js';
import {
  CREDIT_TARGET,
  type CreditData,
  creditDataToCsv,
  creditDataToTable,
  defaultProbability,
  generateCreditData,
  writeCreditCsv,
} from './synthetic.js';

const N = 20_000;
const mean = (d: CreditData, col: string, where: (r: CreditData['rows'][number]) => boolean = () => true) => {
  const rows = d.rows.filter(where);
  return rows.reduce((s, r) => s + Number(r[col]), 0) / rows.length;
};
const labels = (d: CreditData) => d.rows.map((r) => Number(r[CREDIT_TARGET]));
/** Mean of (y - P(y = 1 | x)) under the reference risk model with 5% label noise: ~0 when P(y|x) holds. */
const residual = (d: CreditData) =>
  d.rows.reduce((s, r) => s + Number(r[CREDIT_TARGET]) - (0.05 + 0.9 * defaultProbability(r)), 0) /
  d.rows.length;

describe('synthetic credit-risk data', () => {
  const base = generateCreditData({ rows: N, seed: 11 });

  it('is deterministic per seed, and another seed gives other rows', () => {
    const again = generateCreditData({ rows: N, seed: 11 });
    expect(creditDataToCsv(again)).toBe(creditDataToCsv(base));
    expect(creditDataToCsv(generateCreditData({ rows: N, seed: 12 }))).not.toBe(creditDataToCsv(base));
  });

  it('has realistic shape: a protected attribute, correlations, a plausible default rate and signal', () => {
    expect(base.rows).toHaveLength(N);
    expect(base.columns.map((c) => c.name)).toContain('sex');
    const rate = mean(base, CREDIT_TARGET);
    expect(rate).toBeGreaterThan(0.15);
    expect(rate).toBeLessThan(0.45);
    // Older applicants have longer credit histories; indebted ones default more.
    expect(mean(base, 'credit_history_months', (r) => Number(r.age) > 50)).toBeGreaterThan(
      mean(base, 'credit_history_months', (r) => Number(r.age) < 30) * 2,
    );
    expect(mean(base, CREDIT_TARGET, (r) => Number(r.debt_ratio) > 0.4)).toBeGreaterThan(
      mean(base, CREDIT_TARGET, (r) => Number(r.debt_ratio) < 0.2) + 0.1,
    );
    // The protected attribute reaches the label only through income.
    expect(mean(base, 'income', (r) => r.sex === 'male')).toBeGreaterThan(
      mean(base, 'income', (r) => r.sex === 'female'),
    );
    // The generator's own risk model ranks well but not perfectly (label noise, randomness).
    const auc = rocAuc(
      labels(base),
      base.rows.map((r) => defaultProbability(r)),
    );
    expect(auc).toBeGreaterThan(0.7);
    expect(auc).toBeLessThan(0.9);
    expect(Math.abs(residual(base))).toBeLessThan(0.015);
  });

  it('covariate drift moves the features but keeps P(y | x)', () => {
    const drifted = generateCreditData({ rows: N, seed: 11, covariateDrift: 1 });
    expect(mean(drifted, 'income')).toBeLessThan(mean(base, 'income') * 0.8);
    expect(mean(drifted, 'debt_ratio')).toBeGreaterThan(mean(base, 'debt_ratio') + 0.08);
    expect(mean(drifted, 'age')).toBeLessThan(mean(base, 'age') - 5);
    // The reference risk model is still calibrated on the drifted population.
    expect(Math.abs(residual(drifted))).toBeLessThan(0.015);
  });

  it('label drift moves the default rate but keeps P(x | y)', () => {
    const drifted = generateCreditData({ rows: N, seed: 11, labelDrift: 1 });
    expect(mean(drifted, CREDIT_TARGET)).toBeGreaterThan(mean(base, CREDIT_TARGET) + 0.15);
    for (const y of [0, 1]) {
      const isY = (r: CreditData['rows'][number]) => r[CREDIT_TARGET] === y;
      expect(Math.abs(mean(drifted, 'debt_ratio', isY) - mean(base, 'debt_ratio', isY))).toBeLessThan(0.01);
      expect(Math.abs(mean(drifted, 'age', isY) - mean(base, 'age', isY))).toBeLessThan(0.6);
    }
    // ... so the reference model now under-predicts defaults.
    expect(residual(drifted)).toBeGreaterThan(0.1);
    const fewer = generateCreditData({ rows: N, seed: 11, labelDrift: -1 });
    expect(mean(fewer, CREDIT_TARGET)).toBeLessThan(mean(base, CREDIT_TARGET) - 0.1);
  });

  it('concept drift keeps every feature value and changes which applicants default', () => {
    const drifted = generateCreditData({ rows: N, seed: 11, conceptDrift: 1 });
    const features = base.columns.map((c) => c.name).filter((n) => n !== CREDIT_TARGET);
    for (const f of features) {
      expect(drifted.rows.map((r) => r[f])).toEqual(base.rows.map((r) => r[f]));
    }
    const p = base.rows.map((r) => defaultProbability(r));
    const before = rocAuc(labels(base), p);
    const after = rocAuc(labels(drifted), p);
    expect(before - after).toBeGreaterThan(0.05);
  });

  it('label noise flips labels: the risk model ranks worse with more noise', () => {
    const noisy = generateCreditData({ rows: N, seed: 11, labelNoise: 0.3 });
    const p = base.rows.map((r) => defaultProbability(r));
    expect(rocAuc(labels(noisy), p)).toBeLessThan(rocAuc(labels(base), p) - 0.1);
  });

  it('adds extra columns for wide benchmarks and writes CSV and the trainers` table shape', () => {
    const wide = generateCreditData({ rows: 100, seed: 3, extraFeatures: 7 });
    expect(wide.columns).toHaveLength(13 + 7 + 1);
    const table = creditDataToTable(wide);
    expect(table.rowCount).toBe(100);
    expect(table.columns.find((c) => c.name === 'x7')!.values).toHaveLength(100);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-synth-'));
    const file = path.join(dir, 'credit.csv');
    const written = writeCreditCsv(file, { rows: 100, seed: 3, extraFeatures: 7 });
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(101);
    expect(lines[0]!.split(',')).toEqual(wide.columns.map((c) => c.name));
    expect(written.positives).toBe(wide.rows.filter((r) => r[CREDIT_TARGET] === 1).length);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad options naming the field', () => {
    expect(() => generateCreditData({ rows: 0, seed: 1 })).toThrow(/rows: must be a positive integer/);
    expect(() => generateCreditData({ rows: 5, seed: 1, conceptDrift: 2 })).toThrow(/conceptDrift/);
    expect(() => generateCreditData({ rows: 5, seed: 1, labelNoise: 0.7 })).toThrow(/labelNoise/);
  });
});
