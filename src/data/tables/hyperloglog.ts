/**
 * HyperLogLog with 2^10 registers over DuckDB's 64-bit `hash()`: the low 10 bits pick the register,
 * the rank is 1 + the leading zeros of the remaining 54 bits. Registers are computed in SQL (see
 * hllSql) so raw values never reach JS; merging two sketches is a register-wise max.
 */
export const HLL_BITS = 10;
export const HLL_REGISTERS = 1 << HLL_BITS;

/** SQL for one aggregate: the distinct (register * 64 + rank) pairs of a column, at most 1024 * 55. */
export function hllSql(column: string): string {
  const h = `hash(${column})`;
  const w = `(${h} >> ${HLL_BITS})`;
  const rank = `(CASE WHEN ${w} = 0 THEN ${64 - HLL_BITS + 1} ELSE ${64 - HLL_BITS} - floor(log2(${w}::DOUBLE))::INTEGER END)`;
  return `list(DISTINCT ((${h} & ${HLL_REGISTERS - 1})::INTEGER * 64 + ${rank})) FILTER (WHERE ${column} IS NOT NULL)`;
}

/** Registers from the pairs hllSql returns. */
export function registersFromPairs(pairs: readonly (number | bigint)[]): Uint8Array {
  const reg = new Uint8Array(HLL_REGISTERS);
  for (const p of pairs) {
    const v = Number(p);
    const r = Math.floor(v / 64);
    const rank = v % 64;
    if (rank > (reg[r] ?? 0)) reg[r] = rank;
  }
  return reg;
}

export function encodeRegisters(reg: Uint8Array): string {
  return Buffer.from(reg).toString('base64');
}

export function decodeRegisters(s: string): Uint8Array {
  const buf = Buffer.from(s, 'base64');
  const reg = new Uint8Array(HLL_REGISTERS);
  reg.set(buf.subarray(0, HLL_REGISTERS));
  return reg;
}

export function mergeRegisters(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(HLL_REGISTERS);
  for (let i = 0; i < HLL_REGISTERS; i++) out[i] = Math.max(a[i] ?? 0, b[i] ?? 0);
  return out;
}

/** The HyperLogLog estimate, with linear counting for small cardinalities (where it is near exact). */
export function estimateDistinct(reg: Uint8Array): number {
  const m = HLL_REGISTERS;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < m; i++) {
    const r = reg[i] ?? 0;
    sum += 2 ** -r;
    if (r === 0) zeros++;
  }
  const alpha = 0.7213 / (1 + 1.079 / m);
  const raw = (alpha * m * m) / sum;
  if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
  return Math.round(raw);
}
