import { diffTables, type TableProfile, type TableSchema } from '../tables/index.js';
import { type ColumnTestOptions, profileColumnDrift } from './column-drift.js';
import type { ComparisonReport, DriftTest } from './comparison.schema.js';
import { DEFAULT_DRIFT_SHARE } from './drift-defaults.js';

export interface CompareOptions {
  /** Per-column test overrides, by column name. */
  tests?: Record<string, DriftTest>;
  /** Per-test threshold overrides. */
  thresholds?: Partial<Record<DriftTest, number>>;
  /** Dataset drift when the share of drifted columns reaches this (default 0.5). */
  driftShare?: number;
}

/**
 * Training-vs-production comparison from two profiles: schema differences, a drift test per shared
 * column (Evidently's defaults unless overridden) and the dataset verdict. Needs no raw data, so a
 * stored training profile serves as the reference for ever.
 */
export function compareProfiles(
  reference: TableProfile,
  current: TableProfile,
  opts: CompareOptions = {},
): ComparisonReport {
  const schemaOf = (p: TableProfile): TableSchema => ({
    columns: p.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nulls > 0 })),
  });
  const diff = diffTables(
    { rowCount: reference.rowCount, schema: schemaOf(reference), profile: reference },
    { rowCount: current.rowCount, schema: schemaOf(current), profile: current },
  );
  const columns = reference.columns.flatMap((ref) => {
    const cur = current.columns.find((c) => c.name === ref.name);
    if (!cur) return [];
    if (cur.type !== ref.type && !(isNumber(cur.type) && isNumber(ref.type))) {
      return [
        {
          name: ref.name,
          type: ref.type,
          drifted: true,
          approximate: false,
          skipped: `type changed from ${ref.type} to ${cur.type}`,
        },
      ];
    }
    const test = opts.tests?.[ref.name];
    const o: ColumnTestOptions = {};
    if (test) o.test = test;
    const threshold = test ? opts.thresholds?.[test] : undefined;
    const result = profileColumnDrift(ref, cur, o);
    const t = result.test ? (threshold ?? opts.thresholds?.[result.test]) : undefined;
    return [
      t === undefined ? result : profileColumnDrift(ref, cur, { ...o, test: result.test, threshold: t }),
    ];
  });
  const tested = columns.filter((c) => c.test !== undefined || c.drifted);
  const drifted = tested.filter((c) => c.drifted).length;
  const shareThreshold = opts.driftShare ?? DEFAULT_DRIFT_SHARE;
  const driftShare = tested.length === 0 ? 0 : drifted / tested.length;
  return {
    referenceRows: reference.rowCount,
    currentRows: current.rowCount,
    schema: diff.schema,
    columns,
    driftedColumns: drifted,
    testedColumns: tested.length,
    driftShare,
    shareThreshold,
    drift: tested.length > 0 && driftShare >= shareThreshold,
  };
}

function isNumber(t: string): boolean {
  return t === 'integer' || t === 'float';
}
