/*
 * A tiny, deterministic logistic regression on a synthetic credit table, just enough for the demo's
 * sweep to have something real to track. The built-in trainers come with the ML domain.
 */

import { seededRandom } from '../src/core/random.js';

export interface Dataset {
  x: number[][];
  y: number[];
}

/** Synthetic applicants: income, debt ratio, age, late payments -> default (with label noise). */
export function makeCreditData({ rows, seed }: { rows: number; seed: number }): Dataset {
  const r = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < rows; i++) {
    const income = normal();
    const debt = 0.5 * normal() - 0.3 * income;
    const age = normal();
    const late = Math.max(0, normal() + debt);
    const logit = -0.8 * income + 1.2 * debt - 0.3 * age + 0.9 * late - 0.5;
    const p = 1 / (1 + Math.exp(-logit));
    const label = r() < 0.05 ? Number(r() < 0.5) : Number(r() < p);
    x.push([income, debt, age, late]);
    y.push(label);
  }
  return { x, y };
}

/** Full-batch gradient descent; returns the loss and held-out accuracy after each epoch. */
export function trainLogistic(data: Dataset, p: { lr: number; l2: number; epochs: number }) {
  const split = Math.floor(data.x.length * 0.8);
  const w = new Array<number>((data.x[0] ?? []).length + 1).fill(0);
  const predict = (row: number[]) =>
    1 / (1 + Math.exp(-(w[0]! + row.reduce((s, v, j) => s + v * w[j + 1]!, 0))));
  const curve: { trainLoss: number; valAccuracy: number }[] = [];
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    const grad = new Array<number>(w.length).fill(0);
    let loss = 0;
    for (let i = 0; i < split; i++) {
      const row = data.x[i]!;
      const q = predict(row);
      const err = q - data.y[i]!;
      loss -= data.y[i]! * Math.log(q + 1e-12) + (1 - data.y[i]!) * Math.log(1 - q + 1e-12);
      grad[0]! += err;
      for (let j = 0; j < row.length; j++) grad[j + 1]! += err * row[j]!;
    }
    for (let j = 0; j < w.length; j++) w[j]! -= p.lr * (grad[j]! / split + (j > 0 ? p.l2 * w[j]! : 0));
    let correct = 0;
    for (let i = split; i < data.x.length; i++)
      correct += Number(predict(data.x[i]!) >= 0.5 === (data.y[i] === 1));
    curve.push({ trainLoss: loss / split, valAccuracy: correct / (data.x.length - split) });
  }
  return curve;
}
