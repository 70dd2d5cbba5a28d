import { it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import { checkOnnx, fitModel } from './index.js';
import { rocAuc } from './validation-score.js';

it('perf', async () => {
  const r = seededRandom(7);
  const n = 100_000,
    F = 20;
  const cols: number[][] = Array.from({ length: F }, () => []);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let f = 0; f < F; f++) {
      const v = r() * 2 - 1;
      cols[f]!.push(v);
      m += (f % 3 === 0 ? 1 : -0.5) * v * (f < 10 ? 1 : 0.2);
    }
    m += cols[0]![i]! * cols[1]![i]! * 2;
    y.push(r() < 1 / (1 + Math.exp(-2 * m)) ? 1 : 0);
  }
  const table = {
    rowCount: n,
    columns: [
      ...cols.map((v, f) => ({ name: `x${f}`, type: 'float', values: v })),
      { name: 'y', type: 'integer', values: y },
    ],
  };
  const valid = Array.from({ length: 20000 }, (_, k) => k * 5);
  const t0 = performance.now();
  let last: unknown;
  const model = fitModel({
    table,
    target: 'y',
    task: 'classification',
    kind: 'gbdt',
    seed: 1,
    validation: { rows: valid },
    onIteration: (i) => {
      last = i;
    },
  });
  const t1 = performance.now();
  console.log('gbdt 100k x 20 train ms', Math.round(t1 - t0), last);
  const rows = valid.map((i) => Object.fromEntries(cols.map((c, f) => [`x${f}`, c[i]])));
  const p = model.predict(rows);
  console.log(
    'predict ms',
    Math.round(performance.now() - t1),
    'auc',
    rocAuc(
      Float64Array.from(valid, (i) => y[i]!),
      p,
    ),
  );
  const t2 = performance.now();
  const bytes = model.toOnnx();
  console.log(
    'onnx bytes',
    bytes.length,
    await checkOnnx(bytes, rows, p),
    'ms',
    Math.round(performance.now() - t2),
  );
  const t3 = performance.now();
  const lin = fitModel({ table, target: 'y', task: 'classification', kind: 'linear', seed: 1 });
  console.log(
    'linear train ms',
    Math.round(performance.now() - t3),
    'auc',
    rocAuc(
      Float64Array.from(valid, (i) => y[i]!),
      lin.predict(rows),
    ),
  );
}, 300_000);
