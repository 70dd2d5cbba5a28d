import { describe, expect, it } from 'vitest';
import { creditDataToTable } from '../synthetic.js';
import { generateParcelData, PARCEL_CLASSES, PARCEL_TARGET } from '../synthetic-multiclass.js';
import type { TrainerKind } from './index.js';
import { checkOnnx, coreMargins, encodeForCore, fitModel, predictOnnx, readModelInternals } from './index.js';
import { decodeModel } from './onnx-proto.js';

const train = creditDataToTable(generateParcelData({ rows: 1500, seed: 1 }));
const test = generateParcelData({ rows: 300, seed: 2 });
const features = ['weight', 'distance', 'urgency', 'region'];
const records: Record<string, unknown>[] = test.rows.map((row) =>
  Object.fromEntries(features.map((f) => [f, row[f]])),
);

function argmax(p: Float64Array, at: number, k: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (p[at + c]! > p[at + best]!) best = c;
  return best;
}

describe.each<TrainerKind>(['linear', 'gbdt'])('the %s trainer on three classes', (kind) => {
  const params: Record<string, number> = kind === 'gbdt' ? { n_estimators: 30, max_depth: 4 } : {};
  const model = fitModel({
    table: train,
    target: PARCEL_TARGET,
    task: 'classification',
    kind,
    params,
    seed: 3,
  });

  it('keeps the classes sorted and predicts a probability per class that sums to one', () => {
    expect(model.classes).toEqual([...PARCEL_CLASSES]);
    expect(model.signature().classes).toEqual([...PARCEL_CLASSES]);
    const p = model.predict(records.slice(0, 20));
    expect(p.length).toBe(60);
    for (let i = 0; i < 20; i++) expect(p[i * 3]! + p[i * 3 + 1]! + p[i * 3 + 2]!).toBeCloseTo(1, 12);
  });

  it('reaches a sensible accuracy on held-out rows', () => {
    const p = model.predict(records);
    let correct = 0;
    test.rows.forEach((row, i) => {
      if (PARCEL_CLASSES[argmax(p, i * 3, 3)] === row[PARCEL_TARGET]) correct++;
    });
    // 5% of the labels are redrawn at random, so about 97% is the ceiling.
    expect(correct / test.rows.length).toBeGreaterThan(kind === 'gbdt' ? 0.85 : 0.8);
  });

  it('exports ONNX: [N, K] probabilities equal to the in-process ones within 1e-5, and the argmax label', async () => {
    const rows = records.slice(0, 100);
    rows[0]!.region = 'atlantis';
    rows[1]!.weight = null;
    const bytes = model.toOnnx();
    const expected = model.predict(rows);
    const check = await checkOnnx(bytes, rows, expected);
    expect(check.maxAbsDiff).toBeLessThan(1e-5);
    const graph = decodeModel(bytes).graph!;
    expect(graph.output!.map((o) => o!.name)).toEqual(['probabilities', 'label']);
    const ort = (await import('onnxruntime-node')).default;
    const session = await ort.InferenceSession.create(bytes);
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const f of features) {
      feeds[f] =
        f === 'region'
          ? new ort.Tensor(
              'string',
              rows.map((r) => String(r[f] ?? '')),
              [rows.length, 1],
            )
          : new ort.Tensor(
              'float32',
              Float32Array.from(rows, (r) => (r[f] === null ? Number.NaN : Number(r[f]))),
              [rows.length, 1],
            );
    }
    const out = await session.run(feeds);
    const labels = out.label!.data as string[];
    expect(labels).toEqual(rows.map((_, i) => PARCEL_CLASSES[argmax(expected, i * 3, 3)]));
    expect((await predictOnnx(bytes, rows)).length).toBe(rows.length * 3);
  });

  it('writes per-class internals whose margins are the model’s (softmax of them = predict)', () => {
    const internals = readModelInternals(model.toOnnx())!;
    const m = coreMargins(internals, encodeForCore(internals, records.slice(0, 10)));
    const p = model.predict(records.slice(0, 10));
    for (let i = 0; i < 10; i++) {
      const e = [0, 1, 2].map((k) => Math.exp(m[i * 3 + k]!));
      const s = e[0]! + e[1]! + e[2]!;
      for (let k = 0; k < 3; k++) expect(e[k]! / s).toBeCloseTo(p[i * 3 + k]!, 5);
    }
  });

  it('is deterministic: the same data, params and seed give the same bytes', () => {
    const again = fitModel({
      table: train,
      target: PARCEL_TARGET,
      task: 'classification',
      kind,
      params,
      seed: 3,
    });
    expect(Buffer.from(again.toOnnx()).equals(Buffer.from(model.toOnnx()))).toBe(true);
  });
});

describe('multiclass gbdt', () => {
  it('gives the same bytes on 1 and 3 histogram threads', () => {
    const big = creditDataToTable(generateParcelData({ rows: 20_000, seed: 5 }));
    const bytesOn = (threads: number) =>
      fitModel({
        table: big,
        target: PARCEL_TARGET,
        task: 'classification',
        kind: 'gbdt',
        params: { n_estimators: 4, max_depth: 4, subsample: 0.8 },
        seed: 9,
        threads,
      }).toOnnx();
    expect(Buffer.from(bytesOn(3)).equals(Buffer.from(bytesOn(1)))).toBe(true);
  });

  it('keeps integer labels in numeric order and reports validation loss and accuracy per round', () => {
    const table = creditDataToTable(generateParcelData({ rows: 800, seed: 4, integerLabels: true }));
    const seen: { loss: number; metric: number }[] = [];
    const model = fitModel({
      table,
      target: PARCEL_TARGET,
      task: 'classification',
      kind: 'gbdt',
      params: { n_estimators: 10 },
      seed: 1,
      validation: { rows: Array.from({ length: 200 }, (_, i) => i) },
      onIteration: (info) => {
        seen.push(info.validation!);
      },
    });
    expect(model.classes).toEqual(['0', '1', '2']);
    expect(seen).toHaveLength(10);
    expect(seen[9]!.loss).toBeLessThan(seen[0]!.loss);
    expect(seen[9]!.metric).toBeGreaterThan(0.8);
  });
});
