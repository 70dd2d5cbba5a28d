import { describe, expect, it } from 'vitest';
import { rocAuc } from '../metrics.js';
import { creditDataToTable, generateCreditData } from '../synthetic.js';
import { rowRecords, splitRows } from '../table-rows.js';
import { fitModel } from './fit-model.js';
import { SLOW } from './gbdt-fixtures.js';

/** Synthetic credit rows (13 credit features + 7 extra columns) with a seeded 20% hold-out. */
function creditSet(rows: number) {
  const data = generateCreditData({ rows, seed: 7, extraFeatures: 7 });
  const table = creditDataToTable(data);
  const features = data.columns.map((c) => c.name).filter((n) => n !== 'defaulted');
  const split = splitRows(table.rowCount, 0.2, 7);
  return { data, table, features, split };
}

function fitCredit(set: ReturnType<typeof creditSet>, params: Record<string, number>, threads?: number) {
  return fitModel({
    table: set.table,
    target: 'defaulted',
    features: set.features,
    task: 'classification',
    kind: 'gbdt',
    params,
    seed: 42,
    ...(threads === undefined ? {} : { threads }),
    validation: { rows: set.split.validation },
  });
}

describe('gbdt trainer', () => {
  // 12,000 rows: the root histograms (9,600 training rows) and the row steps are wide enough to be
  // split between threads.
  const set = creditSet(12_000);

  it.each([
    ['default params', { n_estimators: 15 }],
    ['row and feature sampling', { n_estimators: 15, subsample: 0.7, colsample: 0.6 }],
    ['row counts per bin (min_samples_leaf)', { n_estimators: 10, min_samples_leaf: 20, max_depth: 4 }],
  ])(
    'gives the same model bytes with 1, 2 and 3 threads (%s)',
    (_, params) => {
      const one = fitCredit(set, params, 1).toOnnx();
      const two = fitCredit(set, params, 2).toOnnx();
      const three = fitCredit(set, params, 3).toOnnx();
      expect(Buffer.from(two).equals(Buffer.from(one))).toBe(true);
      expect(Buffer.from(three).equals(Buffer.from(one))).toBe(true);
    },
    SLOW,
  );

  it(
    'ranks held-out synthetic credit rows as well as the earlier trainer did (AUC above 0.73)',
    () => {
      // The single-threaded trainer before the rewrite scored 0.7399 here; the generator's own risk
      // model caps AUC near 0.75.
      const big = creditSet(30_000);
      const model = fitCredit(big, { n_estimators: 50 }, 2);
      const labels = big.split.validation.map((i) => Number(big.data.rows[i]!.defaulted));
      const auc = rocAuc(labels, model.predict(rowRecords(big.table, big.features, big.split.validation)));
      expect(auc).toBeGreaterThan(0.73);
    },
    SLOW,
  );

  it(
    'stops early on threads as on one: the same trees, and the workers are let go',
    () => {
      const stopAfter = (threads: number) => {
        let seen = 0;
        const model = fitModel({
          table: set.table,
          target: 'defaulted',
          features: set.features,
          task: 'classification',
          kind: 'gbdt',
          params: { n_estimators: 50 },
          seed: 42,
          threads,
          validation: { rows: set.split.validation },
          onIteration: () => ++seen < 3,
        });
        return { seen, model, onnx: Buffer.from(model.toOnnx()) };
      };
      const one = stopAfter(1);
      const two = stopAfter(2);
      expect(two.seen).toBe(3);
      expect(two.onnx.equals(one.onnx)).toBe(true);
      // Three trees: the predictions of a model asked for three (its params, in the file, differ).
      const records = rowRecords(set.table, set.features, set.split.validation.slice(0, 500));
      expect(two.model.predict(records)).toEqual(fitCredit(set, { n_estimators: 3 }, 1).predict(records));
    },
    SLOW,
  );

  it(
    "a fit started inside another fit's callback gets the same model, and the outer fit keeps its workers",
    () => {
      // Warm workers: the outer fit below joins them from its first steps.
      fitCredit(set, { n_estimators: 2 }, 2);
      let inner: Buffer | undefined;
      const outer = fitModel({
        table: set.table,
        target: 'defaulted',
        features: set.features,
        task: 'classification',
        kind: 'gbdt',
        params: { n_estimators: 4 },
        seed: 42,
        threads: 2,
        validation: { rows: set.split.validation },
        onIteration: (info) => {
          if (info.iteration === 2) inner = Buffer.from(fitCredit(set, { n_estimators: 3 }, 2).toOnnx());
        },
      });
      expect(inner?.equals(Buffer.from(fitCredit(set, { n_estimators: 3 }, 1).toOnnx()))).toBe(true);
      expect(
        Buffer.from(outer.toOnnx()).equals(Buffer.from(fitCredit(set, { n_estimators: 4 }, 1).toOnnx())),
      ).toBe(true);
    },
    SLOW,
  );

  it('refuses a thread count that is not a whole number of at least 1', () => {
    for (const threads of [0, 1.5, -2]) {
      expect(() => fitCredit(set, { n_estimators: 1 }, threads)).toThrow(
        expect.objectContaining({
          code: 'VALIDATION_FAILED',
          details: expect.objectContaining({ field: 'threads' }),
        }),
      );
    }
  });
});
