import type { ColumnProfile, ColumnStats, TableDiff, TableLike } from './table.schema.js';

/** Schema changes, row counts and per-column statistics of two tables side by side (`data diff`). */
export function diffTables(a: TableLike, b: TableLike): TableDiff {
  const aCols = a.schema.columns;
  const bCols = b.schema.columns;
  const added = bCols.filter((c) => !aCols.some((x) => x.name === c.name));
  const removed = aCols.filter((c) => !bCols.some((x) => x.name === c.name));
  const typeChanged: TableDiff['schema']['typeChanged'] = [];
  const nullabilityChanged: TableDiff['schema']['nullabilityChanged'] = [];
  const columns: TableDiff['columns'] = [];
  for (const ca of aCols) {
    const cb = bCols.find((x) => x.name === ca.name);
    if (!cb) continue;
    if (ca.type !== cb.type) typeChanged.push({ name: ca.name, a: ca.type, b: cb.type });
    if (ca.nullable !== cb.nullable)
      nullabilityChanged.push({ name: ca.name, a: ca.nullable, b: cb.nullable });
    const sa = statsOf(a.profile.columns.find((p) => p.name === ca.name));
    const sb = statsOf(b.profile.columns.find((p) => p.name === ca.name));
    columns.push({ name: ca.name, a: sa, b: sb, changed: JSON.stringify(sa) !== JSON.stringify(sb) });
  }
  return {
    rowCount: { a: a.rowCount, b: b.rowCount, change: b.rowCount - a.rowCount },
    schema: { added, removed, typeChanged, nullabilityChanged },
    columns,
  };
}

function statsOf(p: ColumnProfile | undefined): ColumnStats {
  if (!p) return { nulls: 0, distinct: 0 };
  const s: ColumnStats = { nulls: p.nulls, distinct: p.distinct };
  if (p.min !== undefined) s.min = p.min;
  if (p.max !== undefined) s.max = p.max;
  if (p.mean !== undefined) s.mean = p.mean;
  if (p.std !== undefined) s.std = p.std;
  if (p.quantiles?.p50 !== undefined) s.p50 = p.quantiles.p50;
  return s;
}
