import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import { EXP_CHECK_COUNT, expCheckInputs, expMatches } from './gbdt-exp-kernel.js';
import { expKernelPlatform, histogramKernels, marginKernels, releaseKernels } from './gbdt-kernels.js';
import { type WasmMemory, wasm } from './wasm-encoder.js';

/** Doubles per batch: inputs and results fill the 4 MiB memory. */
const BATCH = 1 << 18;

/** The WebAssembly exp over batches of inputs, in a memory of its own. */
function wasmExp() {
  if (wasm === undefined) throw new Error('no WebAssembly');
  const memory: WasmMemory = new wasm.Memory({ initial: 64, maximum: 64, shared: false });
  const inputs = new Float64Array(memory.buffer, 0, BATCH);
  const results = new Float64Array(memory.buffer, 8 * BATCH, BATCH);
  const kernels = histogramKernels(memory);
  return {
    memory,
    /** The inputs of the batch whose exp differs from Math.exp in any bit (NaN: any NaN). */
    mismatches(fill: (j: number) => number): number[] {
      for (let j = 0; j < BATCH; j++) inputs[j] = fill(j);
      const got = new BigInt64Array(results.buffer, results.byteOffset, BATCH);
      const want = new Float64Array(1);
      const wantBits = new BigInt64Array(want.buffer);
      const bad: number[] = [];
      // One double at a time, and two (each lane, and a lane beside an input off the common case).
      for (const run of [kernels.expRange, kernels.expPairs]) {
        results.fill(0);
        run(0, 8 * BATCH, 8 * BATCH);
        for (let j = 0; j < BATCH; j++) {
          want[0] = Math.exp(inputs[j]!);
          if (Number.isNaN(want[0]) ? !Number.isNaN(results[j]) : got[j] !== wantBits[0])
            bad.push(inputs[j]!);
        }
      }
      return bad;
    },
  };
}

/** The doubles `steps` apart (in units in the last place) around x, BATCH of them centred on it. */
function around(x: number, steps: number): (j: number) => number {
  const one = new Float64Array([x]);
  const bits = new BigInt64Array(one.buffer);
  const centre = bits[0]!;
  return (j) => {
    bits[0] = centre + BigInt(steps * (j - BATCH / 2));
    return one[0]!;
  };
}

describe('exp in WebAssembly', () => {
  // Elsewhere V8's Math.exp may differ (fused multiply-adds), and the kernel does not run there.
  it.skipIf(!expKernelPlatform())(
    'is Math.exp to the bit, over millions of doubles and every edge of the method (x64)',
    () => {
      const exp = wasmExp();
      const r = seededRandom(19);
      const bad: number[] = [];
      try {
        // Anywhere in the range where exp is finite and not zero.
        for (let b = 0; b < 16; b++) bad.push(...exp.mismatches(() => -745.2 + 1455 * r()));
        // Margins as fits see them, and any double at all (exponent and mantissa at random).
        for (let b = 0; b < 4; b++) bad.push(...exp.mismatches(() => (r() - 0.5) * 60));
        const any = new Float64Array(1);
        const anyBits = new Uint32Array(any.buffer);
        bad.push(
          ...exp.mismatches(() => {
            anyBits[0] = r() * 2 ** 32;
            anyBits[1] = r() * 2 ** 32;
            return any[0]!;
          }),
        );
        // Dense sweeps across each branch point: 0 (and |x| < 2^-28), +-0.5 ln2, +-1.5 ln2, 1, the
        // overflow and underflow thresholds, where 2^k leaves the normal range, subnormal results.
        const points = [
          0,
          2 ** -28,
          0.5 * Math.LN2,
          1.5 * Math.LN2,
          1,
          709.782712893384,
          745.1332191019411,
          1021 * Math.LN2,
          1022 * Math.LN2,
          1024 * Math.LN2,
          720,
        ];
        for (const p of points)
          for (const x of p === 0 ? [0] : [p, -p]) {
            bad.push(...exp.mismatches(around(x, 1)));
            bad.push(...exp.mismatches(around(x, 9973)));
          }
        bad.push(...exp.mismatches((j) => (j - BATCH / 2) * 1e-6));
        bad.push(...exp.mismatches((j) => (j - BATCH / 2) * 3e-3));
        const specials = [
          0,
          -0,
          Infinity,
          -Infinity,
          Number.NaN,
          5e-324,
          -5e-324,
          Number.MAX_VALUE,
          -Number.MAX_VALUE,
        ];
        bad.push(...exp.mismatches((j) => specials[j % specials.length]!));
      } finally {
        releaseKernels(exp.memory);
      }
      expect(bad.slice(0, 10)).toEqual([]);
    },
  );

  it('passes its own self-check, which a single bit of difference fails', () => {
    const inputs = expCheckInputs();
    expect(inputs.length).toBe(EXP_CHECK_COUNT);
    const results = inputs.map((x) => Math.exp(x));
    expect(expMatches(inputs, results)).toBe(true);
    // One result one unit in the last place off, anywhere in the set: the check fails.
    const bits = new BigInt64Array(results.buffer);
    for (const j of [1, 2, 100, 1000, EXP_CHECK_COUNT - 1]) {
      bits[j] = bits[j]! ^ 1n;
      expect(expMatches(inputs, results)).toBe(false);
      bits[j] = bits[j]! ^ 1n;
    }
    // And the kernels of this thread passed it (on x64; elsewhere they do not run).
    if (wasm === undefined) throw new Error('no WebAssembly');
    const memory = new wasm.Memory({ initial: 1, maximum: 1, shared: false });
    expect(marginKernels(memory) !== undefined).toBe(expKernelPlatform());
    releaseKernels(memory);
  });
});
