/**
 * Makes plain records of fixed keys from values, as JSON.parse would make them: a function compiled
 * once per list of names, `(v, at) => ({"a": v[at], "b": v[at + 1], ...})`. An object literal with
 * fixed keys is built from one shape, several times faster than assigning keys one by one. Keys are
 * embedded as JSON string literals, which are valid JavaScript strings whatever the name holds;
 * `__proto__` is written as a computed key, which defines an own property (as JSON.parse does)
 * instead of setting the prototype. A name listed twice keeps its first place and its last value,
 * as JSON.parse does too.
 */
export type RecordMaker = (values: ArrayLike<unknown>, at: number) => Record<string, unknown>;

export function recordMaker(names: readonly string[]): RecordMaker {
  const fields = names.map(
    (n, j) => `${n === '__proto__' ? '["__proto__"]' : JSON.stringify(n)}: v[at + ${j}]`,
  );
  return new Function('v', 'at', `return { ${fields.join(', ')} };`) as RecordMaker;
}
