import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { modelVersionFixture, tinyOnnxModel } from '../../../test/e2e/registry-fixtures.js';
import { ValidationError } from '../../core/errors.js';
import { sha256Hex } from '../../core/hashing.js';
import {
  CREDIT_TARGET,
  coreMargins,
  creditDataToTable,
  encodeForCore,
  type FittedModel,
  fitModel,
  generateCreditData,
  type ModelInternals,
  predictOnnx,
  readModelInternals,
} from '../../ml/index.js';
import type { ModelVersion } from '../../registry/index.js';
import type { GovernanceDeps, Scorer } from '../governance-deps.js';
import { createExplainer } from './explainer.service.js';
import { type Explanation, explanationSchema } from './explanation.schema.js';

/*
 * Explanations checked against brute force: the interventional Shapley values of
 * v(S) = mean over background rows r of f(x_S, r_rest), by enumerating every coalition.
 */

type Row = Record<string, unknown>;
const credit = generateCreditData({ rows: 240, seed: 11 });
const table = creditDataToTable(credit);
const features = ['age', 'income', 'debt_ratio', 'purpose', 'home_ownership'];
// A record with a missing numeric and a missing categorical (imputed / all-zero one-hot).
const records: Row[] = [
  credit.rows[0]!,
  { ...credit.rows[1]!, income: null, purpose: null },
  credit.rows[2]!,
];
const background: Row[] = credit.rows.slice(100, 108);

function train(
  kind: 'linear' | 'gbdt',
  task: 'classification' | 'regression' = 'classification',
): FittedModel {
  return fitModel({
    table,
    target: task === 'classification' ? CREDIT_TARGET : 'loan_amount',
    features,
    task,
    kind,
    seed: 5,
    params: kind === 'gbdt' ? { n_estimators: 12, max_depth: 4 } : {},
  });
}

/** A registry version of the bytes (no training data unless given). */
function versionOf(bytes: Uint8Array, patch: Partial<ModelVersion> = {}): ModelVersion {
  return modelVersionFixture({
    id: `mv_${sha256Hex(bytes).slice(0, 26)}`,
    model: 'm',
    source: 'upload',
    sha256: sha256Hex(bytes),
    size: bytes.length,
    ...patch,
  });
}

/** Scores with onnxruntime (P(positive) or the value), as serving's scorer does; counts calls. */
function onnxScorer(bytes: Uint8Array): Scorer & { calls: number } {
  const s = {
    calls: 0,
    score: async (rows: Row[]) => {
      s.calls++;
      return predictOnnx(bytes, rows);
    },
    release: async () => {},
  };
  return s;
}

const explainer = createExplainer({} as GovernanceDeps);

/** Exact Shapley values of the interventional game, by enumerating all 2^M coalitions. */
async function bruteForce(
  players: string[],
  x: Row,
  bg: Row[],
  f: (rows: Row[]) => Float64Array | Promise<Float64Array>,
): Promise<{ base: number; phi: number[] }> {
  const m = players.length;
  const rows: Row[] = [];
  for (let mask = 0; mask < 2 ** m; mask++) {
    for (const r of bg) {
      const h: Row = { ...r };
      players.forEach((p, j) => {
        if ((mask >> j) & 1) h[p] = x[p];
      });
      rows.push(h);
    }
  }
  const out = await f(rows);
  const v = (mask: number) => {
    let s = 0;
    for (let k = 0; k < bg.length; k++) s += out[mask * bg.length + k]!;
    return s / bg.length;
  };
  const fact = (n: number): number => (n <= 1 ? 1 : n * fact(n - 1));
  const phi = players.map((_, i) => {
    let s = 0;
    for (let mask = 0; mask < 2 ** m; mask++) {
      if ((mask >> i) & 1) continue;
      let size = 0;
      for (let j = 0; j < m; j++) size += (mask >> j) & 1;
      s += ((fact(size) * fact(m - size - 1)) / fact(m)) * (v(mask | (1 << i)) - v(mask));
    }
    return s;
  });
  return { base: v(0), phi };
}

const marginsOf = (internals: ModelInternals) => (rows: Row[]) =>
  coreMargins(internals, encodeForCore(internals, rows));

function sum(e: Explanation): number {
  return e.baseValue + Object.values(e.attributions).reduce((a, b) => a + b, 0);
}

describe('explanations', () => {
  for (const [kind, task] of [
    ['linear', 'classification'],
    ['linear', 'regression'],
    ['gbdt', 'classification'],
    ['gbdt', 'regression'],
  ] as const) {
    it(`${kind} ${task}: exact Shapley values in margin space, equal to brute force, summing to the margin`, async () => {
      const model = train(kind, task);
      const bytes = model.toOnnx();
      const internals = readModelInternals(bytes)!;
      const explanations = await explainer.explainRecords({
        version: versionOf(bytes),
        bytes,
        records,
        background,
      });
      const ort = await predictOnnx(bytes, records);
      for (const [i, e] of explanations.entries()) {
        expect(explanationSchema.parse(e)).toEqual(e);
        expect(e).toMatchObject({
          method: kind === 'linear' ? 'linear' : 'tree',
          space: task === 'classification' ? 'log_odds' : 'value',
          exact: true,
          samples: null,
          backgroundSize: background.length,
        });
        expect(Object.keys(e.attributions)).toEqual(features);
        expect(e.features).toEqual(Object.fromEntries(features.map((f) => [f, records[i]![f] ?? null])));
        const margin = marginsOf(internals)([records[i]!])[0]!;
        expect(e.output).toBe(margin);
        expect(Math.abs(sum(e) - e.output)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(e.output)));
        expect(e.tolerance).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(e.output), Math.abs(e.baseValue)),
        );
        // The ONNX model itself (float32 outputs): logit of ORT's P, or ORT's value.
        const ortMargin = task === 'classification' ? Math.log(ort[i]! / (1 - ort[i]!)) : ort[i]!;
        expect(Math.abs(sum(e) - ortMargin)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ortMargin)));
        const brute = await bruteForce(features, records[i]!, background, marginsOf(internals));
        expect(Math.abs(e.baseValue - brute.base)).toBeLessThan(1e-9 * Math.max(1, Math.abs(brute.base)));
        features.forEach((f, j) => {
          expect(Math.abs(e.attributions[f]! - brute.phi[j]!), f).toBeLessThan(
            1e-9 * Math.max(1, Math.abs(brute.base)),
          );
        });
      }
      // Something is attributed: the check above is not vacuous.
      expect(Object.values(explanations[0]!.attributions).some((v) => Math.abs(v) > 1e-3)).toBe(true);
    });
  }

  it('KernelSHAP of the linear classifier in probability space: enumerated it is exact, sampled it stays within its tolerance', async () => {
    const bytes = train('linear').toOnnx();
    const version = versionOf(bytes);
    const brute = await bruteForce(features, records[0]!, background, (rows) => predictOnnx(bytes, rows));
    const scorer = onnxScorer(bytes);
    // 2^5 - 2 = 30 coalitions fit a budget of 32: enumerated, exact.
    const [enumerated] = await explainer.explainRecords({
      version,
      bytes,
      records: [records[0]!],
      background,
      scorer,
      method: 'kernel',
      samples: 32,
    });
    expect(scorer.calls).toBe(1); // every coalition x background row in one score() call
    expect(enumerated).toMatchObject({ method: 'kernel', space: 'probability', exact: true, samples: 30 });
    const [p] = await predictOnnx(bytes, [records[0]!]);
    expect(enumerated!.output).toBe(p);
    expect(Math.abs(sum(enumerated!) - enumerated!.output)).toBeLessThan(1e-12);
    expect(Math.abs(enumerated!.baseValue - brute.base)).toBeLessThan(1e-12);
    features.forEach((f, j) => {
      expect(Math.abs(enumerated!.attributions[f]! - brute.phi[j]!), f).toBeLessThan(1e-9);
    });
    // A budget of 16 draws 8 complementary pairs from the kernel: an estimate with a stated tolerance.
    const [sampled] = await explainer.explainRecords({
      version,
      bytes,
      records: [records[0]!],
      background,
      scorer,
      method: 'kernel',
      samples: 16,
      seed: 3,
    });
    expect(sampled).toMatchObject({ method: 'kernel', exact: false });
    expect(sampled!.samples).toBeLessThanOrEqual(16);
    expect(sampled!.tolerance).toBeGreaterThan(0);
    expect(Math.abs(sum(sampled!) - sampled!.output)).toBeLessThan(1e-12);
    features.forEach((f, j) => {
      expect(Math.abs(sampled!.attributions[f]! - brute.phi[j]!), f).toBeLessThanOrEqual(sampled!.tolerance);
    });
  });

  it('the same request gives the same numbers; another seed draws other coalitions', async () => {
    const bytes = train('linear').toOnnx();
    const input = {
      version: versionOf(bytes),
      bytes,
      records: [records[2]!],
      background,
      scorer: onnxScorer(bytes),
      method: 'kernel' as const,
      samples: 16,
    };
    const a = await explainer.explainRecords({ ...input, seed: 1 });
    const b = await explainer.explainRecords({ ...input, seed: 1 });
    const c = await explainer.explainRecords({ ...input, seed: 2 });
    expect(b).toEqual(a);
    expect(c[0]!.attributions).not.toEqual(a[0]!.attributions);
  });

  it('KernelSHAP explains a foreign model with one float tensor input, given a background', async () => {
    const bytes = tinyOnnxModel([0.5, -0.25, 1], 0.1);
    expect(readModelInternals(bytes)).toBeUndefined();
    const players = ['f0', 'f1', 'f2'];
    // What serving's scorer does for such a model: the records' values, in order, as one [N, 3] tensor.
    const session = await ort.InferenceSession.create(bytes);
    const scorer: Scorer = {
      score: async (rows) => {
        const flat = Float32Array.from(rows.flatMap((r) => players.map((p) => Number(r[p]))));
        const out = await session.run({ features: new ort.Tensor('float32', flat, [rows.length, 3]) });
        return Float64Array.from(out.score!.data as Float32Array);
      },
      release: async () => {},
    };
    try {
      const version = versionOf(bytes, {
        signature: {
          inputs: [{ name: 'features', type: 'float', shape: ['N', 3] }],
          outputs: [{ name: 'score', type: 'float', shape: ['N', 1] }],
        },
      });
      const bg: Row[] = [
        { f0: 0, f1: 0, f2: 0 },
        { f0: 1, f1: 2, f2: -1 },
        { f0: -2, f1: 0.5, f2: 0.25 },
        { f0: 0.5, f1: -1, f2: 2 },
      ];
      const x: Row = { f0: 1.5, f1: -2, f2: 0.75 };
      const [e] = await explainer.explainRecords({ version, bytes, records: [x], scorer, background: bg });
      expect(e).toMatchObject({
        method: 'kernel',
        space: 'value',
        exact: true,
        samples: 6,
        backgroundSize: 4,
      });
      expect(Object.keys(e!.attributions)).toEqual(players);
      const brute = await bruteForce(players, x, bg, (rows) => scorer.score(rows));
      for (const [j, p] of players.entries()) {
        expect(Math.abs(e!.attributions[p]! - brute.phi[j]!)).toBeLessThan(1e-9);
      }
      expect(Math.abs(sum(e!) - e!.output)).toBeLessThan(1e-12);
      // The output is the model's, and the attributions are not all zero.
      expect(e!.output).toBeCloseTo(1 / (1 + Math.exp(-(0.5 * 1.5 + 0.25 * 2 + 0.75 + 0.1))), 6);
      expect(Math.abs(e!.attributions.f2!)).toBeGreaterThan(1e-3);
    } finally {
      await session.release();
    }
  });

  it('a version without training data and without a background is a ValidationError asking for one', async () => {
    const bytes = train('linear').toOnnx();
    const call = explainer.explainRecords({ version: versionOf(bytes), bytes, records: [records[0]!] });
    await expect(call).rejects.toThrow(ValidationError);
    await expect(call).rejects.toMatchObject({ details: { field: 'background' } });
    await expect(call).rejects.toThrow(/pass background records/);
  });

  it('bad records and a bad background are ValidationErrors naming the field', async () => {
    const bytes = train('gbdt').toOnnx();
    const version = versionOf(bytes);
    await expect(explainer.explainRecords({ version, bytes, records: [], background })).rejects.toMatchObject(
      {
        details: { field: 'records' },
      },
    );
    await expect(
      explainer.explainRecords({ version, bytes, records: [{ ...records[0]!, age: 'old' }], background }),
    ).rejects.toMatchObject({ details: { field: 'age' } });
    await expect(
      explainer.explainRecords({
        version,
        bytes,
        records,
        background: [{ ...background[0]!, income: 'lots' }],
      }),
    ).rejects.toMatchObject({ details: { field: 'background' } });
  });
});
