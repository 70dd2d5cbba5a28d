import type { ColumnProfile } from '../data/tables/index.js';
import { isMissing, valueMatches } from './live-profile.js';
import type { PointSink } from './point-builder.js';

/*
 * Live data quality of one window against the reference profile: nulls (NaN and infinities count as
 * missing), numeric values outside the reference's [min, max], categories the reference never saw
 * (only when its list of values is complete), and values of another type than the reference's.
 */

// Shares above these are a warning / an alert; a type change is an alert at any share.
const WARN = 0.01;
const ALERT = 0.05;

const band = (share: number) => (share > ALERT ? 'alert' : share > WARN ? 'warning' : 'ok');

/** Writes the quality points of one feature. */
export function measureQuality(
  sink: PointSink,
  feature: string,
  values: readonly unknown[],
  ref: ColumnProfile | undefined,
): void {
  const n = values.length;
  if (n === 0) {
    sink.insufficient('quality.null_share', 'no rows in the window', { feature });
    return;
  }
  let missing = 0;
  let mismatched = 0;
  let outside = 0;
  let unseen = 0;
  const numeric = ref?.type === 'integer' || ref?.type === 'float';
  const known = ref?.topKComplete ? new Set((ref.topK ?? []).map((t) => t.value)) : undefined;
  for (const v of values) {
    if (isMissing(v)) {
      missing++;
      continue;
    }
    if (!ref) continue;
    if (!valueMatches(ref.type, v)) {
      mismatched++;
      continue;
    }
    if (numeric && typeof v === 'number') {
      if (typeof ref.min === 'number' && typeof ref.max === 'number' && (v < ref.min || v > ref.max))
        outside++;
    } else if (known && !known.has(String(v))) unseen++;
  }
  const refNullShare = ref && ref.count > 0 ? ref.nulls / ref.count : 0;
  const nullShare = missing / n;
  // Nulls the reference also had are not news: the band applies to the excess.
  sink.add({
    metric: 'quality.null_share',
    feature,
    value: nullShare,
    status: band(Math.max(0, nullShare - refNullShare)),
    details: { rows: n, nulls: missing, referenceNullShare: refNullShare },
  });
  if (!ref) return;
  const present = n - missing;
  if (present === 0) return;
  sink.add({
    metric: 'quality.type_mismatch_share',
    feature,
    value: mismatched / present,
    status: mismatched > 0 ? 'alert' : 'ok',
    details: { rows: present, mismatched, referenceType: ref.type },
  });
  if (numeric)
    sink.add({
      metric: 'quality.out_of_range_share',
      feature,
      value: outside / present,
      status: band(outside / present),
      details: { rows: present, outside, min: ref.min, max: ref.max },
    });
  else if (known)
    sink.add({
      metric: 'quality.unseen_share',
      feature,
      value: unseen / present,
      status: band(unseen / present),
      details: { rows: present, unseen, known: known.size },
    });
}
