import type { ColumnProfile, TableProfile } from '../tables/index.js';

/** What a suggestion needs of a table. */
export interface VersionTableLike {
  path: string;
  rowCount: number;
  profile: TableProfile;
}

const q = (s: string) => JSON.stringify(s);
const num = (x: number) => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6))));

/**
 * Drafts a suite from a table's stored profile: types, nulls, ranges, small categorical sets, row
 * count, likely keys. A draft states what the data was, not what it should be: people review it.
 */
export function suggestSuite(label: string, name: string, table: VersionTableLike): string {
  const lines = [
    `# Drafted by \`sextant data suggest\` from the profile of ${label} (${table.path}, ${table.rowCount} rows).`,
    '# Review every line: the bounds describe the data as it was, not as it should be.',
    `name: ${q(name)}`,
    `table: ${q(table.path)}`,
    'expectations:',
    `  - row_count: { min: ${Math.floor(table.rowCount / 2)}, max: ${table.rowCount * 2} }`,
  ];
  for (const c of table.profile.columns) lines.push(...forColumn(c));
  return `${lines.join('\n')}\n`;
}

function forColumn(c: ColumnProfile): string[] {
  const col = q(c.name);
  const out = [`  - column_type: { column: ${col}, type: ${c.type} }`];
  const nonNull = c.count - c.nulls;
  if (c.nulls === 0) out.push(`  - not_null: { column: ${col} }`);
  else {
    // Some slack over what was seen, so the next batch is not failed by noise.
    const allowed = Math.min(1, Math.ceil((c.nulls / c.count) * 1.5 * 1000) / 1000);
    out.push(`  - null_fraction: { column: ${col}, max: ${allowed} }`);
  }
  if (
    (c.type === 'integer' || c.type === 'float') &&
    typeof c.min === 'number' &&
    typeof c.max === 'number'
  ) {
    out.push(`  - between: { column: ${col}, min: ${num(c.min)}, max: ${num(c.max)} }`);
  }
  if (
    (c.type === 'string' || c.type === 'boolean') &&
    c.topKComplete &&
    c.topK &&
    c.topK.length > 0 &&
    c.topK.length <= 20
  ) {
    const values = c.type === 'boolean' ? c.topK.map((t) => t.value) : c.topK.map((t) => q(t.value));
    out.push(`  - in_set: { column: ${col}, values: [${values.join(', ')}] }`);
  }
  // The distinct count is a HyperLogLog estimate: within ~3% of the rows it is worth proposing as a key.
  if (
    (c.type === 'integer' || c.type === 'string') &&
    nonNull > 100 &&
    c.nulls === 0 &&
    c.distinct >= nonNull * 0.97
  ) {
    out.push(`  - unique: { column: ${col} }   # distinct ~ rows (approximate): a likely key`);
  }
  if (c.type === 'timestamp' && typeof c.max === 'string') {
    out.push(`  # - freshness: { column: ${col}, max_age: 7d }   # newest value was ${c.max}`);
  }
  return out;
}
