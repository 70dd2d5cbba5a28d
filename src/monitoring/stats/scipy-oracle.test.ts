import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  chiSquaredTest,
  jensenShannonDistance,
  kolmogorovSf,
  ksTest,
  wasserstein,
} from '../../data/stats/index.js';
import { featureDrift } from './index.js';

/*
 * Our exact statistics against scipy 1.17 on the same raw values. The answers were computed once by
 * test/fixtures/monitoring/scipy-oracle.py (ks_2samp with its default 'auto' method, chisquare,
 * wasserstein_distance, jensenshannon with its natural log, kstwo.sf) and committed, so this runs
 * without Python.
 */

interface Oracle {
  scipy: string;
  samples: {
    name: string;
    a: number[];
    b: number[];
    ks: { statistic: number; pValue: number };
    wasserstein: number;
  }[];
  chisquare: { name: string; reference: number[]; current: number[]; statistic: number; pValue: number }[];
  jensenshannon: { name: string; p: number[]; q: number[]; distance: number }[];
  kstwo: { n: number; x: number; sf: number }[];
}

const oracle = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/monitoring/scipy-oracle.json', import.meta.url), 'utf8'),
) as Oracle;

const TOL = 1e-6;
const near = (actual: number | undefined | null, expected: number, scale = 1) =>
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(TOL * Math.max(1, scale));

describe(`exact statistics match scipy ${oracle.scipy} to 1e-6`, () => {
  it.each(oracle.samples.map((s) => [s.name, s] as const))(
    'ks_2samp and wasserstein_distance: %s',
    (_, s) => {
      const ks = ksTest(s.a, s.b);
      near(ks.statistic, s.ks.statistic);
      near(ks.pValue, s.ks.pValue);
      near(wasserstein(s.a, s.b), s.wasserstein, Math.abs(s.wasserstein));
      // The monitoring path (typed arrays, one sort per side) gives the same numbers.
      const viaDrift = featureDrift(s.a, s.b, { feature: 'x', test: 'ks', minRows: 1 });
      near(viaDrift.statistic, s.ks.statistic);
      near(viaDrift.pValue, s.ks.pValue);
    },
  );

  it.each(oracle.chisquare.map((c) => [c.name, c] as const))('chisquare: %s', (_, c) => {
    const r = chiSquaredTest(c.reference, c.current);
    near(r.statistic, c.statistic, c.statistic);
    near(r.pValue, c.pValue);
  });

  it.each(oracle.jensenshannon.map((j) => [j.name, j] as const))('jensenshannon: %s', (_, j) => {
    near(jensenShannonDistance(j.p, j.q), j.distance);
  });

  it.each(oracle.kstwo.map((k) => [`n=${k.n} x=${k.x}`, k] as const))('kstwo.sf: %s', (_, k) => {
    near(kolmogorovSf(k.n, k.x), k.sf);
  });
});
