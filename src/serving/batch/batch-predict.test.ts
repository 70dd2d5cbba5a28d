import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CREDIT_TARGET,
  creditDataToTable,
  fitModel,
  generateCreditData,
  rowRecords,
} from '../../ml/index.js';
import type { ModelVersion } from '../../registry/index.js';
import type { ServingModel } from '../model/index.js';
import { openBatchModel, scoreRecords, typedColumnsCheck } from './batch-predict.js';

const train = generateCreditData({ rows: 400, seed: 3 });
const features = train.columns.map((c) => c.name).filter((n) => n !== CREDIT_TARGET);
const table = creditDataToTable(generateCreditData({ rows: 5000, seed: 4 }));

describe('batch scoring', () => {
  let model: ServingModel;
  beforeAll(async () => {
    const fitted = fitModel({
      table: creditDataToTable(train),
      target: CREDIT_TARGET,
      features,
      task: 'classification',
      kind: 'linear',
      seed: 1,
    });
    const version = {
      model: 'm',
      version: 1,
      signature: { inputs: [], outputs: [], declared: { ...fitted.signature() } },
    };
    model = await openBatchModel(fitted.toOnnx(), version as unknown as ModelVersion);
  });
  afterAll(() => model.release());

  it('the fast path for typed columns answers exactly what the checked path answers', async () => {
    const records = rowRecords(table, features);
    const check = typedColumnsCheck(model, table.columns);
    expect(check(0, 5000)).toBe(true);
    expect(await scoreRecords(model, records, check)).toEqual(await scoreRecords(model, records));
  });

  it('a missing value sends its batch through the checker; a bad value is named by its row in the table', async () => {
    const age = table.columns.find((c) => c.name === 'age')!;
    const withNull = { ...age, values: age.values.map((v, i) => (i === 4500 ? null : v)) };
    const check = typedColumnsCheck(
      model,
      table.columns.map((c) => (c === age ? withNull : c)),
    );
    expect(check(0, 4096)).toBe(true);
    expect(check(4096, 5000)).toBe(false);
    const records = rowRecords(table, features);
    records[4500] = { ...records[4500], age: 'old' };
    await expect(scoreRecords(model, records)).rejects.toThrow(/row 4500\.age must be a number/);
  });
});
