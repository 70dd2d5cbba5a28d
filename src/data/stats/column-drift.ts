import { ValidationError } from '../../core/errors.js';
import type { ColumnProfile, ColumnType } from '../tables/index.js';
import { type Binned, categoryBins, numericBins, rawCategoryBins, rawNumericBins } from './binning.js';
import type { ColumnDrift, DriftTest } from './comparison.schema.js';
import {
  chiSquaredTest,
  jensenShannonDistance,
  ksFromSketches,
  ksTest,
  psi,
  type TestOutcome,
  wasserstein,
  wassersteinFromSketches,
  zTestProportions,
} from './distribution-tests.js';
import { type ColumnKind, DEFAULT_THRESHOLDS, defaultTest, isPValueTest, MIN_STD } from './drift-defaults.js';

export interface ColumnTestOptions {
  /** Overrides the default test choice. */
  test?: DriftTest;
  /** Overrides the test's default threshold. */
  threshold?: number;
}

// Numeric columns with few reference values are compared as categories, as Evidently does.
const CATEGORY_LIMIT = 20;

/** Compares one column from two profiles (no raw data): the default test, or the one asked for. */
export function profileColumnDrift(
  ref: ColumnProfile,
  cur: ColumnProfile,
  opts: ColumnTestOptions = {},
): ColumnDrift {
  const base = { name: ref.name, type: ref.type, drifted: false, approximate: true };
  const skip = skipReason(ref.type, ref.count - ref.nulls, cur.count - cur.nulls);
  if (skip) return { ...base, skipped: skip };
  const numeric = (ref.type === 'integer' || ref.type === 'float') && !!ref.sketch && !!cur.sketch;
  const kind: ColumnKind = numeric ? 'numeric' : 'categorical';
  const test =
    opts.test ?? defaultTest({ kind, referenceRows: ref.count - ref.nulls, referenceUniques: ref.distinct });
  const asCategories = !numeric || (ref.distinct <= CATEGORY_LIMIT && ref.topKComplete === true);
  const bins = asCategories ? categoryBins(ref, cur) : numericBins(ref, cur);
  const needsNumeric = test === 'ks' || test === 'wasserstein';
  if (needsNumeric && !numeric) throw notNumeric(ref.name, test);
  const outcome = run(test, bins, {
    ks: () =>
      ksFromSketches(ref.sketch ?? [], ref.count - ref.nulls, cur.sketch ?? [], cur.count - cur.nulls),
    wasserstein: () =>
      wassersteinFromSketches(ref.sketch ?? [], cur.sketch ?? []) / Math.max(ref.std ?? 0, MIN_STD),
  });
  return finish(base, test, outcome, opts.threshold, psi(bins.reference, bins.current));
}

/** Compares one column from raw values (exact statistics); nulls are left out. */
export function sampleColumnDrift(
  name: string,
  type: ColumnType,
  reference: readonly (number | string | boolean | null)[],
  current: readonly (number | string | boolean | null)[],
  opts: ColumnTestOptions = {},
): ColumnDrift {
  const ref = reference.filter((x) => x !== null && x !== undefined);
  const cur = current.filter((x) => x !== null && x !== undefined);
  const base = { name, type, drifted: false, approximate: false };
  const skip = skipReason(type, ref.length, cur.length);
  if (skip) return { ...base, skipped: skip };
  const numeric = type === 'integer' || type === 'float';
  const uniques = new Set(ref.map(String)).size;
  const test =
    opts.test ??
    defaultTest({
      kind: numeric ? 'numeric' : 'categorical',
      referenceRows: ref.length,
      referenceUniques: uniques,
    });
  const refNum = numeric ? ref.map(Number) : [];
  const curNum = numeric ? cur.map(Number) : [];
  const bins =
    !numeric || uniques <= CATEGORY_LIMIT ? rawCategoryBins(ref, cur) : rawNumericBins(refNum, curNum);
  if ((test === 'ks' || test === 'wasserstein') && !numeric) throw notNumeric(name, test);
  const outcome = run(test, bins, {
    ks: () => ksTest(refNum, curNum),
    wasserstein: () => wasserstein(refNum, curNum) / Math.max(std(refNum), MIN_STD),
  });
  return finish(base, test, outcome, opts.threshold, psi(bins.reference, bins.current));
}

function skipReason(type: ColumnType, nRef: number, nCur: number): string | undefined {
  if (type === 'timestamp' || type === 'date') return 'time columns are not drift-tested';
  if (nRef === 0 || nCur === 0) return 'no non-null values on one side';
  return undefined;
}

function notNumeric(name: string, test: DriftTest): ValidationError {
  return new ValidationError(`test '${test}' needs a numeric column; '${name}' is not`, {
    field: 'tests',
    column: name,
  });
}

function run(
  test: DriftTest,
  bins: Binned,
  numeric: { ks: () => TestOutcome; wasserstein: () => number },
): TestOutcome | { distance: number } {
  switch (test) {
    case 'ks':
      return numeric.ks();
    case 'wasserstein':
      return { distance: numeric.wasserstein() };
    case 'chi_squared':
      return chiSquaredTest(bins.reference, bins.current);
    case 'z_test':
      return zTestProportions(bins.reference, bins.current);
    case 'jensen_shannon':
      return { distance: jensenShannonDistance(bins.reference, bins.current) };
    case 'psi':
      return { distance: psi(bins.reference, bins.current) };
  }
}

function finish(
  base: Pick<ColumnDrift, 'name' | 'type' | 'approximate'>,
  test: DriftTest,
  outcome: TestOutcome | { distance: number },
  threshold: number | undefined,
  psiValue: number,
): ColumnDrift {
  const t = threshold ?? DEFAULT_THRESHOLDS[test];
  if ('distance' in outcome) {
    return {
      ...base,
      test,
      distance: outcome.distance,
      statistic: outcome.distance,
      threshold: t,
      drifted: outcome.distance >= t,
      psi: psiValue,
    };
  }
  const p = outcome.pValue ?? 1;
  return {
    ...base,
    // KS from raw values is exact; the rest of the p-value tests are exact given their bins.
    approximate: base.approximate && test === 'ks',
    test,
    statistic: outcome.statistic,
    pValue: p,
    threshold: t,
    drifted: isPValueTest(test) && p < t,
    psi: psiValue,
  };
}

function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - mean) * (x - mean), 0) / (xs.length - 1));
}
