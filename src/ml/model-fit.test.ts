import { describe, expect, it } from 'vitest';
import { checkTrainSpec, fitOnDataset } from './model-fit.js';
import { creditDataToTable, generateCreditData } from './synthetic.js';
import type { LoadedDataset } from './table-rows.js';
import { splitRows } from './table-rows.js';
import type { TrainingTable } from './trainers/index.js';

const dataset = (table: TrainingTable): LoadedDataset => ({
  version: { id: 'dsv_test', digest: 'd'.repeat(64), dataset: 't', number: 1, tables: [] },
  ref: 't@1',
  table,
  tablePath: 't.csv',
});
const spec = { datasetRef: 't@1', target: 'y', kind: 'linear' as const };

describe('the validation split', () => {
  it('is seeded, disjoint, covers every row and holds out round(n * fraction)', () => {
    const a = splitRows(1000, 0.2, 7);
    expect(splitRows(1000, 0.2, 7)).toEqual(a);
    expect(splitRows(1000, 0.2, 8).validation).not.toEqual(a.validation);
    expect(a.validation).toHaveLength(200);
    expect(new Set([...a.train, ...a.validation]).size).toBe(1000);
  });

  it('refuses a fraction that leaves either side empty', () => {
    expect(() => splitRows(3, 0.1, 1)).toThrow(/no validation rows/);
    expect(() => splitRows(3, 0.9, 1)).toThrow(/no training rows/);
  });
});

describe('fitOnDataset', () => {
  it('fits, predicts the held-out rows and exports the same ONNX bytes for the same seed', () => {
    const table = creditDataToTable(generateCreditData({ rows: 600, seed: 3 }));
    const checked = checkTrainSpec({ ...spec, target: 'defaulted', seed: 4 });
    const a = fitOnDataset(dataset(table), checked);
    const b = fitOnDataset(dataset(table), checked);
    expect(a.task).toBe('classification');
    expect(a.classes).toEqual(['0', '1']);
    expect(a.predictions).toHaveLength(120);
    expect(a.split.train).toBe(480);
    expect(Buffer.from(a.onnx).equals(Buffer.from(b.onnx))).toBe(true);
    expect(a.history.length).toBeGreaterThan(0);
  });

  it('an onIteration that returns false stops the fit and marks it early-stopped', () => {
    const table = creditDataToTable(generateCreditData({ rows: 600, seed: 3 }));
    const fit = fitOnDataset(dataset(table), checkTrainSpec({ ...spec, target: 'defaulted' }), () => false);
    expect(fit.earlyStopped).toBe(true);
    expect(fit.history).toHaveLength(1);
  });

  it('refuses NaN and infinities in features, an empty table, and a missing target, before fitting', () => {
    const withValue = (v: number): TrainingTable => ({
      rowCount: 6,
      columns: [
        { name: 'x', type: 'float', values: [1, 2, v, 4, 5, 6] },
        { name: 'y', type: 'integer', values: [0, 1, 0, 1, 0, 1] },
      ],
    });
    const checked = checkTrainSpec({ ...spec, valFraction: 0.34 });
    expect(() => fitOnDataset(dataset(withValue(Number.NaN)), checked)).toThrow(/NaN/);
    expect(() => fitOnDataset(dataset(withValue(Number.POSITIVE_INFINITY)), checked)).toThrow(/Infinity/);
    expect(() =>
      fitOnDataset(dataset({ rowCount: 0, columns: [{ name: 'y', type: 'integer', values: [] }] }), checked),
    ).toThrow(/has no rows/);
    expect(() => fitOnDataset(dataset(withValue(3)), { ...checked, target: 'z' })).toThrow(
      /column 'z' does not exist \(columns: x, y\)/,
    );
  });

  it('checkTrainSpec names the option at fault', () => {
    expect(() => checkTrainSpec({ ...spec, kind: 'forest' as 'linear' })).toThrow(/--model/);
    expect(() => checkTrainSpec({ ...spec, seed: -1 })).toThrow(/--seed/);
    expect(() => checkTrainSpec({ ...spec, valFraction: 0 })).toThrow(/--val-fraction/);
    expect(() => checkTrainSpec({ ...spec, datasetRef: 'nover' })).toThrow(
      /--dataset: expected <name>@<version>/,
    );
    expect(() => checkTrainSpec({ ...spec, params: { bogus: '1' } })).toThrow(/unknown param 'bogus'/);
    expect(() => checkTrainSpec({ ...spec, features: ['y'] })).toThrow(/--features: the target/);
  });
});
