/*
 * The order of the prediction log: (served_at, id), oldest or newest first. Listings and scans merge
 * the `predictions` table's rows and the segments' rows in this order.
 */

type Key = { served_at: number; id: string };

/** Compares two rows by (served_at, id). */
export function compareKeys(a: Key, b: Key): number {
  // PostgreSQL hands bigint columns back as strings.
  const d = Number(a.served_at) - Number(b.served_at);
  return d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Merges two lists sorted in the same order into the first `limit` rows. */
export function mergeSorted<T extends Key>(a: T[], b: T[], order: 'newest' | 'oldest', limit: number): T[] {
  const sign = order === 'oldest' ? 1 : -1;
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < a.length || j < b.length)) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && sign * compareKeys(x, y) <= 0)) {
      out.push(x as T);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}
