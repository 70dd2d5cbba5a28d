import type { EncodedMatrix, ModelInternals } from '../../ml/index.js';
import { columnFeatures, coreMargins, internalsFeatures } from '../../ml/index.js';

/** Attributions of rows: phi[i] holds one value per feature of `features`; base + sum(phi[i]) = output[i]. */
export interface ShapResult {
  features: string[];
  base: number;
  output: Float64Array;
  phi: Float64Array[];
}

/**
 * Exact interventional Shapley values of a linear model in margin space. The margin is
 * b + sum_c w_c z_c, additive over features, so feature f gets sum over its encoded columns of
 * w_c * (z_c(x) - mean_bg z_c), and the base value is the margin at the background mean (= the mean
 * background margin).
 */
export function linearShap(internals: ModelInternals, x: EncodedMatrix, bg: EncodedMatrix): ShapResult {
  const core = internals.core;
  if (core.kind !== 'linear') throw new Error('linearShap: not a linear model');
  const features = internalsFeatures(internals);
  const owner = columnFeatures(internals);
  const { width } = x;
  const mean = new Float64Array(width);
  for (let r = 0; r < bg.n; r++) for (let c = 0; c < width; c++) mean[c] = mean[c]! + bg.data[r * width + c]!;
  for (let c = 0; c < width; c++) mean[c] = mean[c]! / bg.n;
  let base = 0;
  for (let c = 0; c < width; c++) base += core.weights[c]! * mean[c]!;
  base += core.intercept;
  const phi: Float64Array[] = [];
  for (let i = 0; i < x.n; i++) {
    const p = new Float64Array(features.length);
    for (let c = 0; c < width; c++) {
      const f = owner[c]!;
      p[f] = p[f]! + core.weights[c]! * (x.data[i * width + c]! - mean[c]!);
    }
    phi.push(p);
  }
  return { features, base, output: coreMargins(internals, x), phi };
}
