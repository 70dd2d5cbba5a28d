import { ValidationError } from '../../core/errors.js';
import {
  chiSquaredTest,
  DEFAULT_THRESHOLDS,
  type DriftTest,
  defaultTest,
  isPValueTest,
  jensenShannonDistance,
  ksSketchErrorBound,
  ksSketchVsSorted,
  ksStatisticSorted,
  ksTwoSamplePValue,
  MIN_STD,
  psi as psiOf,
  wassersteinSketchErrorBound,
  wassersteinSketchVsSorted,
  wassersteinSorted,
  zTestProportions,
} from '../../data/stats/index.js';
import {
  categorySample,
  type FeatureKind,
  numericSample,
  type RawColumn,
  sortedCounts,
} from './column-sample.js';
import { type BinCounts, categoryCounts, compactBins, numericCounts } from './drift-bins.js';
import { testsCategories } from './drift-policy.schema.js';
import { type DriftReason, type FeatureDrift, psiBand } from './drift-result.js';
import {
  type NumericReference,
  type PreparedReference,
  prepareReference,
  type ReferenceInput,
} from './reference.js';

/** What featureDrift needs besides the two sides. */
export interface FeatureDriftOptions {
  /** The feature's name (defaults to the profile's column name, else 'value'). */
  feature?: string;
  /** Overrides the kind inferred from the reference (raw references only). */
  kind?: FeatureKind;
  /** Overrides the size-aware default test. */
  test?: DriftTest;
  /** Overrides the test's default threshold. */
  threshold?: number;
  /** Tests by kind, used when `test` is absent (instead of the size-aware choice). */
  tests?: { numeric?: DriftTest; categorical?: DriftTest };
  /** Thresholds by test, used when `threshold` is absent (instead of DEFAULT_THRESHOLDS). */
  thresholds?: Partial<Record<DriftTest, number>>;
  /** Fewer valid rows than this on either side: insufficient_data (default 30). */
  minRows?: number;
}

/** The default minimum of valid rows per side. */
export const DEFAULT_MIN_ROWS = 30;

/**
 * Drift of one feature: a window's raw values against a reference (a stored profile, raw values, or a
 * prepared reference). Never throws on data (NaN, Infinity, nulls, constants, too few rows all get a
 * named answer); throws ValidationError only for a test that cannot judge the feature's kind.
 */
export function featureDrift(
  reference: ReferenceInput,
  current: RawColumn,
  options: FeatureDriftOptions = {},
): FeatureDrift {
  const name =
    options.feature ??
    (typeof reference === 'object' &&
    reference !== null &&
    'name' in reference &&
    typeof reference.name === 'string'
      ? reference.name
      : 'value');
  return driftOfPrepared(prepareReference(reference, name, options.kind), current, options);
}

/** featureDrift on an already prepared reference (windowDrift's path). */
export function driftOfPrepared(
  ref: PreparedReference,
  current: RawColumn,
  options: FeatureDriftOptions,
): FeatureDrift {
  const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
  if (ref.kind === 'unsupported') {
    return notTested(
      ref.feature,
      'categorical',
      null,
      ref.rows,
      0,
      'unsupported_type',
      ref.reason,
      options,
      zero(),
    );
  }
  const kind = ref.kind;
  const test = chooseTest(ref, options);
  const threshold = thresholdOf(test, options);
  if (kind === 'numeric') {
    const s = numericSample(current);
    const excluded = { nulls: s.nulls, nonFinite: s.nan + s.infinite, wrongType: s.wrongType };
    const why = shortage(ref.rows, s.sorted.length, s.total, s.nulls, minRows);
    if (why)
      return notTested(ref.feature, kind, test, ref.rows, s.sorted.length, why[0], why[1], options, excluded);
    return numericDrift(ref, s.sorted, test, threshold, excluded);
  }
  const c = categorySample(current);
  const excluded = { nulls: c.nulls, nonFinite: 0, wrongType: c.wrongType };
  const why = shortage(ref.rows, c.rows, c.total, c.nulls, minRows);
  if (why) return notTested(ref.feature, kind, test, ref.rows, c.rows, why[0], why[1], options, excluded);
  const bins = categoryCounts(ref.categories, ref.rows, ref.categoriesComplete, c.counts);
  const result = binTest(test, bins);
  return finish({
    feature: ref.feature,
    kind,
    test,
    threshold,
    outcome: result,
    psi: psiOf(bins.reference, bins.current),
    referenceRows: ref.rows,
    currentRows: c.rows,
    approximate: !ref.categoriesComplete,
    excluded,
    constant: ref.uniques <= 1,
    bins,
  });
}

function chooseTest(
  ref: Exclude<PreparedReference, { kind: 'unsupported' }>,
  options: FeatureDriftOptions,
): DriftTest {
  const test =
    options.test ??
    options.tests?.[ref.kind] ??
    defaultTest({ kind: ref.kind, referenceRows: ref.rows, referenceUniques: ref.uniques });
  if (ref.kind === 'categorical' && !testsCategories(test)) {
    throw new ValidationError(
      `features.${ref.feature}.test: '${test}' needs numbers; '${ref.feature}' is categorical`,
      {
        field: `features.${ref.feature}.test`,
      },
    );
  }
  return test;
}

function shortage(
  refRows: number,
  curRows: number,
  curTotal: number,
  curNulls: number,
  minRows: number,
): [DriftReason, string] | undefined {
  if (refRows < minRows)
    return ['too_few_reference_rows', `${refRows} valid reference rows, fewer than ${minRows}`];
  if (curTotal > 0 && curNulls === curTotal) return ['all_null', `all ${curTotal} current values are null`];
  if (curRows === 0 && curTotal > 0)
    return ['no_valid_values', `none of ${curTotal} current values is valid`];
  if (curRows < minRows) return ['too_few_rows', `${curRows} valid current rows, fewer than ${minRows}`];
  return undefined;
}

type Outcome = { statistic: number; pValue: number } | { distance: number };

function numericDrift(
  ref: NumericReference,
  cur: Float64Array,
  test: DriftTest,
  threshold: number,
  excluded: FeatureDrift['excluded'],
): FeatureDrift {
  const asCategories = ref.categories !== null;
  const bins = asCategories
    ? categoryCounts(ref.categories ?? new Map(), ref.rows, ref.categoriesComplete, sortedCounts(cur))
    : numericCounts(ref, cur);
  const sketch = ref.sketch;
  let outcome: Outcome;
  let errorBound: number | undefined;
  const scale = Math.max(ref.std, MIN_STD);
  if (test === 'ks') {
    const d = sketch
      ? ksSketchVsSorted(sketch, cur)
      : ksStatisticSorted(ref.sorted ?? new Float64Array(), cur);
    if (sketch) errorBound = ksSketchErrorBound(sketch.length);
    outcome = { statistic: d, pValue: ksTwoSamplePValue(d, ref.rows, cur.length) };
  } else if (test === 'wasserstein') {
    const w = sketch
      ? wassersteinSketchVsSorted(sketch, cur)
      : wassersteinSorted(ref.sorted ?? new Float64Array(), cur);
    if (sketch) errorBound = wassersteinSketchErrorBound(sketch) / scale;
    outcome = { distance: w / scale };
  } else {
    outcome = binTest(test, bins);
  }
  const exactBins = ref.source === 'raw' || asCategories;
  return finish({
    feature: ref.feature,
    kind: 'numeric',
    test,
    threshold,
    outcome,
    psi: psiOf(bins.reference, bins.current),
    referenceRows: ref.rows,
    currentRows: cur.length,
    approximate: test === 'ks' || test === 'wasserstein' ? sketch !== null : !exactBins,
    errorBound,
    excluded,
    constant: ref.uniques <= 1,
    bins,
  });
}

function binTest(test: DriftTest, bins: BinCounts): Outcome {
  switch (test) {
    case 'chi_squared': {
      const r = chiSquaredTest(bins.reference, bins.current);
      return { statistic: r.statistic, pValue: r.pValue ?? 1 };
    }
    case 'z_test': {
      const r = zTestProportions(bins.reference, bins.current);
      return { statistic: r.statistic, pValue: r.pValue ?? 1 };
    }
    case 'jensen_shannon':
      return { distance: jensenShannonDistance(bins.reference, bins.current) };
    case 'psi':
      return { distance: psiOf(bins.reference, bins.current) };
    case 'ks':
    case 'wasserstein':
      // Unreachable: numeric tests run on sorted values, categorical features refuse them.
      throw new ValidationError(`'${test}' needs numbers`, { field: 'test' });
  }
}

interface FinishInput {
  feature: string;
  kind: FeatureKind;
  test: DriftTest;
  threshold: number;
  outcome: Outcome;
  psi: number;
  referenceRows: number;
  currentRows: number;
  approximate: boolean;
  errorBound?: number;
  excluded: FeatureDrift['excluded'];
  constant: boolean;
  /** The bins PSI (and the binned tests) counted: stored compacted for the report's histograms. */
  bins: BinCounts;
}

function finish(f: FinishInput): FeatureDrift {
  const pValue = 'pValue' in f.outcome ? f.outcome.pValue : undefined;
  const distance = 'distance' in f.outcome ? f.outcome.distance : undefined;
  const statistic = 'statistic' in f.outcome ? f.outcome.statistic : (distance as number);
  const drifted = isPValueTest(f.test) ? (pValue ?? 1) < f.threshold : (distance ?? 0) >= f.threshold;
  const out: FeatureDrift = {
    feature: f.feature,
    kind: f.kind,
    test: f.test,
    statistic,
    threshold: f.threshold,
    drifted,
    psi: f.psi,
    psiBand: psiBand(f.psi),
    status: drifted ? 'alert' : 'ok',
    referenceRows: f.referenceRows,
    currentRows: f.currentRows,
    approximate: f.approximate,
    excluded: f.excluded,
  };
  if (pValue !== undefined) out.pValue = pValue;
  if (distance !== undefined) out.distance = distance;
  if (f.errorBound !== undefined) out.errorBound = f.errorBound;
  out.histogram = compactBins(f.bins);
  if (f.constant) {
    out.reason = 'constant_reference';
    out.message = 'the reference has a single value';
  }
  return out;
}

function notTested(
  feature: string,
  kind: FeatureKind,
  test: DriftTest | null,
  referenceRows: number,
  currentRows: number,
  reason: DriftReason,
  message: string,
  options: FeatureDriftOptions,
  excluded: FeatureDrift['excluded'],
): FeatureDrift {
  return {
    feature,
    kind,
    test,
    statistic: null,
    threshold: test ? thresholdOf(test, options) : 0,
    drifted: false,
    psi: null,
    psiBand: null,
    status: 'insufficient_data',
    referenceRows,
    currentRows,
    approximate: false,
    reason,
    message,
    excluded,
  };
}

function thresholdOf(test: DriftTest, options: FeatureDriftOptions): number {
  return options.threshold ?? options.thresholds?.[test] ?? DEFAULT_THRESHOLDS[test];
}

function zero(): FeatureDrift['excluded'] {
  return { nulls: 0, nonFinite: 0, wrongType: 0 };
}

/** The answer for a feature the window has but the reference lacks (or the other way round). */
export function absentFeature(
  feature: string,
  side: 'reference' | 'current',
  kind: FeatureKind,
  rows: number,
): FeatureDrift {
  const reason: DriftReason = side === 'reference' ? 'absent_from_reference' : 'absent_from_current';
  const message =
    side === 'reference'
      ? `'${feature}' is not in the reference (a feature the model was not trained on?)`
      : `'${feature}' is in the reference but not in this window`;
  return notTested(
    feature,
    kind,
    null,
    side === 'reference' ? 0 : rows,
    side === 'reference' ? rows : 0,
    reason,
    message,
    {},
    zero(),
  );
}
