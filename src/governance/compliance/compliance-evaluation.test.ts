import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import type { EvaluateOutcome, EvaluateRequest } from '../../ml/index.js';
import type { ModelVersion } from '../../registry/registry.schema.js';
import type { TraceDataset, TraceRun } from '../trace/trace.schema.js';
import { offlineEvaluation } from './compliance-evaluation.js';

/*
 * The offline part of section 4 decides where its rows come from and which attributes it slices by;
 * the scoring itself is ml's evaluateModel (exercised end to end in test/e2e). Here the port records
 * what it was asked and answers fixed scores.
 */

const version = (over: Partial<ModelVersion> = {}) =>
  ({
    model: 'credit',
    version: 2,
    format: 'onnx',
    params: {},
    card: {},
    ...over,
  }) as ModelVersion;
const run = (params: Record<string, string>) => ({ params }) as unknown as TraceRun;
const dataset = { ref: 'loans@3', dataset: 'loans', digest: 'abc123' } as TraceDataset;
const trainedRun = run({ dataset: 'loans@3', target: 'defaulted', split_seed: '7', val_fraction: '0.25' });

function port(outcome: Partial<EvaluateOutcome>) {
  const asked: EvaluateRequest[] = [];
  const evaluate = async (req: EvaluateRequest) => {
    asked.push(req);
    return {
      task: 'regression',
      target: 'amount',
      rows: 4,
      metrics: { mae: 1, rmse: Number.NaN },
      dataset: { ref: 'loans@3', digest: 'abc123' },
      scored: {
        labels: Float64Array.from([1, 2, 3, 4]),
        predictions: Float64Array.from([1, 2, 3, 5]),
        classes: null,
        columns: { region: ['n', 'n', 's', 's'] },
      },
      ...outcome,
    } as EvaluateOutcome;
  };
  return { asked, evaluate };
}

describe('offline evaluation in the compliance report', () => {
  it("re-splits the run's own rows, pinned by digest, and slices by the card's protected attributes", async () => {
    const p = port({});
    const off = await offlineEvaluation(
      p.evaluate,
      version({ card: { protected_attributes: ' region , region,' } }),
      { run: trainedRun, datasets: [dataset] },
      {},
    );
    expect(p.asked).toEqual([
      {
        modelRef: 'credit@2',
        datasetRef: 'loans@abc123',
        target: 'defaulted',
        validationSplit: { fraction: 0.25, seed: 7 },
        keep: ['region'],
      },
    ]);
    expect(off).toMatchObject({
      status: 'evaluated',
      attributes: ['region'],
      attributesFrom: 'card',
      data: { kind: 'validation_split', splitSeed: 7, valFraction: 0.25, rows: 4 },
      metrics: { mae: 1, rmse: null },
    });
    expect(off.slices.map((s) => [s.value, s.rows, s.metrics.mae])).toEqual([
      ['n', 2, 0],
      ['s', 2, 0.5],
    ]);
    // A regressor has no favourable outcome to compare: the report says so instead of a table.
    expect(off.fairness).toEqual([]);
    expect(off.fairnessNotes[0]?.note).toMatch(/binary classifier, and this is a regressor/);
  });

  it('the slices option wins over the card, and a holdout replaces the split', async () => {
    const p = port({});
    const off = await offlineEvaluation(
      p.evaluate,
      version({ card: { protected_attributes: 'sex' } }),
      { run: trainedRun, datasets: [dataset] },
      { slices: ['region'], holdout: 'loans-q3@1' },
    );
    expect(p.asked[0]).toMatchObject({ datasetRef: 'loans-q3@1', keep: ['region'] });
    expect(p.asked[0]?.validationSplit).toBeUndefined();
    expect(off).toMatchObject({ attributesFrom: 'option', data: { kind: 'holdout', splitSeed: null } });
  });

  it('says why when there is nothing to evaluate on, and names the option that adds slices', async () => {
    const p = port({});
    const none = await offlineEvaluation(p.evaluate, version(), { run: null, datasets: [] }, {});
    expect(none.status).toBe('not_evaluated');
    expect(none.note).toMatch(/--holdout <dataset>@<version>/);
    const pickle = await offlineEvaluation(
      p.evaluate,
      version({ format: 'pickle' as ModelVersion['format'] }),
      { run: trainedRun, datasets: [dataset] },
      {},
    );
    expect(pickle.note).toMatch(/pickle model/);
    expect(p.asked).toHaveLength(0);
    const unsliced = await offlineEvaluation(
      p.evaluate,
      version(),
      { run: trainedRun, datasets: [dataset] },
      {},
    );
    expect(unsliced.status).toBe('evaluated');
    expect(unsliced.note).toMatch(/--set protected_attributes=.*--slices/);
  });

  it("a failure is a note for the card's attributes, and the caller's error for what they asked for", async () => {
    const failing = async (): Promise<EvaluateOutcome> => {
      throw new ValidationError("slices: column 'sex' does not exist", { field: 'slices' });
    };
    const card = version({ card: { protected_attributes: 'sex' } });
    const origins = { run: trainedRun, datasets: [dataset] };
    const off = await offlineEvaluation(failing, card, origins, {});
    expect(off).toMatchObject({
      status: 'not_evaluated',
      note: "not evaluated: slices: column 'sex' does not exist",
    });
    await expect(offlineEvaluation(failing, card, origins, { slices: ['sex'] })).rejects.toThrow(/'sex'/);
    await expect(offlineEvaluation(failing, card, origins, { holdout: 'x@1' })).rejects.toThrow(/'sex'/);
  });
});
