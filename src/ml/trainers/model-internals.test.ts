import { describe, expect, it } from 'vitest';
import { tinyOnnxModel } from '../../../test/e2e/registry-fixtures.js';
import { ValidationError } from '../../core/errors.js';
import { CREDIT_TARGET, creditDataToTable, generateCreditData } from '../synthetic.js';
import type { FittedModel, TrainerKind } from './index.js';
import { coreMargins, encodeForCore, fitModel, predictOnnx, readModelInternals } from './index.js';
import { EXPLAIN_METADATA_KEY } from './model-internals.js';
import { decodeModel, encodeModel } from './onnx-proto.js';

const data = generateCreditData({ rows: 240, seed: 7 });
const table = creditDataToTable(data);
const features = ['age', 'income', 'debt_ratio', 'purpose', 'home_ownership'];

function train(kind: TrainerKind, task: 'classification' | 'regression'): FittedModel {
  return fitModel({
    table,
    target: task === 'classification' ? CREDIT_TARGET : 'loan_amount',
    features,
    task,
    kind,
    seed: 3,
    params: kind === 'gbdt' ? { n_estimators: 8, max_depth: 3 } : {},
  });
}

/** The file with its sextant.explain metadata replaced by `value` (or computed from the parsed one). */
function withInternals(bytes: Uint8Array, edit: (json: Record<string, unknown>) => unknown): Uint8Array {
  const model = decodeModel(bytes);
  const prop = model.metadataProps!.find((p) => p.key === EXPLAIN_METADATA_KEY)!;
  const edited = edit(JSON.parse(prop.value) as Record<string, unknown>);
  prop.value = typeof edited === 'string' ? edited : JSON.stringify(edited);
  return encodeModel(model);
}

describe('model internals (sextant.explain)', () => {
  const rows = data.rows.slice(0, 20).map((r, i) => (i === 3 ? { ...r, income: null, purpose: null } : r));

  for (const kind of ['linear', 'gbdt'] as const) {
    for (const task of ['classification', 'regression'] as const) {
      it(`${kind} ${task}: read back from the ONNX file, the core gives the model's margins`, async () => {
        const model = train(kind, task);
        const bytes = model.toOnnx();
        const internals = readModelInternals(bytes)!;
        expect(internals).toMatchObject({ task, standardize: kind === 'linear' });
        expect(internals.core.kind).toBe(kind === 'linear' ? 'linear' : 'trees');
        expect(internals.inputs).toEqual(features);
        const margins = coreMargins(internals, encodeForCore(internals, rows));
        const predicted = model.predict(rows);
        const ort = await predictOnnx(bytes, rows);
        for (let i = 0; i < rows.length; i++) {
          const m = margins[i]!;
          if (task === 'classification') {
            // The trainer rounds tree margins to float32 (the ONNX op's output type); the core does not.
            const rounded = kind === 'gbdt' ? Math.fround(m) : m;
            expect(1 / (1 + Math.exp(-rounded))).toBeCloseTo(predicted[i]!, 12);
            expect(Math.abs(1 / (1 + Math.exp(-m)) - ort[i]!)).toBeLessThan(1e-6);
          } else {
            expect(Math.fround(m)).toBe(predicted[i]);
            expect(Math.abs(m - ort[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(m)));
          }
        }
      });
    }
  }

  it('is undefined for a foreign model and for bytes that are not ONNX', () => {
    expect(readModelInternals(tinyOnnxModel())).toBeUndefined();
    expect(readModelInternals(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]))).toBeUndefined();
    expect(readModelInternals(new Uint8Array(0))).toBeUndefined();
  });

  it('refuses malformed or inconsistent metadata with a ValidationError, never a crash or a hang', () => {
    const linear = train('linear', 'classification').toOnnx();
    const gbdt = train('gbdt', 'classification').toOnnx();
    type Trees = { trees: { left: number[]; right: number[]; column: number[] }[] };
    const bad: Uint8Array[] = [
      withInternals(linear, () => '{not json'),
      withInternals(linear, (j) => ({ ...j, task: 'ranking' })),
      withInternals(linear, (j) => ({ ...j, core: { kind: 'linear', intercept: 0, weights: [1, 2] } })),
      withInternals(linear, (j) => ({
        ...j,
        encoding: { numeric: [{ name: 'nope', mean: 0, std: 1 }], categorical: [] },
        core: { kind: 'linear', intercept: 0, weights: [1] },
      })),
      // A child pointing back to the root: a cycle.
      withInternals(gbdt, (j) => {
        const core = j.core as Trees;
        core.trees[0]!.right[0] = 0;
        return j;
      }),
      // Two parents sharing a child: paths that multiply.
      withInternals(gbdt, (j) => {
        const core = j.core as Trees;
        const t = core.trees[0]!;
        const inner = t.left.findIndex((l, k) => k > 0 && l > 0);
        t.right[0] = t.left[inner]!;
        return j;
      }),
      withInternals(gbdt, (j) => {
        const core = j.core as Trees;
        core.trees[0]!.column[0] = 10_000;
        return j;
      }),
    ];
    bad.forEach((bytes, i) => {
      expect(() => readModelInternals(bytes), `case ${i}`).toThrow(ValidationError);
    });
  });

  it('the metadata is part of the deterministic export: same data, params and seed, same bytes', () => {
    const a = Buffer.from(train('gbdt', 'classification').toOnnx());
    expect(a.equals(Buffer.from(train('gbdt', 'classification').toOnnx()))).toBe(true);
  });
});
