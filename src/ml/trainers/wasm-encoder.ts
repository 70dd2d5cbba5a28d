/*
 * Just enough of the WebAssembly binary format to write small numeric kernels by hand (no
 * toolchain is installed where sextant builds): one module that imports its memory and exports
 * functions over i32 parameters and locals, with the handful of instructions those kernels use.
 * Each kernel is written with the WAT text beside it (gbdt-kernels.ts); the encoder only
 * turns those instructions into bytes.
 */

/** A WebAssembly memory, as the kernels use it. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

/** The slice of the WebAssembly JavaScript API used here (the compiler's `lib` setting leaves it out). */
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
}

/** The WebAssembly API, or undefined where the runtime has none (node --jitless). */
export const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** The value types a kernel's parameters and locals have. */
export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof F64 | typeof V128;

/** Unsigned LEB128, as every count, index and memory offset is written. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32.const). */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** A byte vector with its length in front, as sections, names and bodies are written. */
function sized(bytes: number[]): number[] {
  return [...uleb(bytes.length), ...bytes];
}

function name(s: string): number[] {
  return sized([...Buffer.from(s, 'utf8')]);
}

/** log2 of the alignment a memory instruction promises (a hint: a wrong one is still correct). */
type Align = 0 | 1 | 2 | 3 | 4;

/** The body of one function: instructions appended in order, named after their WAT mnemonics. */
export class Code {
  readonly bytes: number[] = [];

  private op(...bytes: number[]): this {
    this.bytes.push(...bytes);
    return this;
  }

  private mem(opcode: number[], align: Align, offset: number): this {
    return this.op(...opcode, ...uleb(align), ...uleb(offset));
  }

  get(local: number): this {
    return this.op(0x20, ...uleb(local));
  }
  set(local: number): this {
    return this.op(0x21, ...uleb(local));
  }
  tee(local: number): this {
    return this.op(0x22, ...uleb(local));
  }
  i32Const(n: number): this {
    return this.op(0x41, ...sleb(n));
  }
  /** i64.const, for the small shift counts the kernels use. */
  i64Const(n: number): this {
    return this.op(0x42, ...sleb(n));
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32Shl(): this {
    return this.op(0x74);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32GeU(): this {
    return this.op(0x4f);
  }
  i32GtU(): this {
    return this.op(0x4b);
  }
  i32Eq(): this {
    return this.op(0x46);
  }
  /** `select`: the first of two values when the condition above them is non-zero, else the second. */
  select(): this {
    return this.op(0x1b);
  }
  i32Store(offset = 0): this {
    return this.mem([0x36], 2, offset);
  }
  i32Load(offset = 0): this {
    return this.mem([0x28], 2, offset);
  }
  i32Load8U(offset = 0): this {
    return this.mem([0x2d], 0, offset);
  }
  i32Load16U(offset = 0): this {
    return this.mem([0x2f], 1, offset);
  }
  v128Load(offset = 0): this {
    return this.mem([0xfd, 0x00], 3, offset);
  }
  v128Store(offset = 0): this {
    return this.mem([0xfd, 0x0b], 3, offset);
  }
  f64Load(offset = 0): this {
    return this.mem([0x2b], 3, offset);
  }
  f64Store(offset = 0): this {
    return this.mem([0x39], 3, offset);
  }
  f64Const(x: number): this {
    const bytes = new DataView(new ArrayBuffer(8));
    bytes.setFloat64(0, x, true);
    return this.op(0x44, ...new Uint8Array(bytes.buffer));
  }
  f64Add(): this {
    return this.op(0xa0);
  }
  f64Sub(): this {
    return this.op(0xa1);
  }
  f64Mul(): this {
    return this.op(0xa2);
  }
  f64Lt(): this {
    return this.op(0x63);
  }
  f64Gt(): this {
    return this.op(0x64);
  }
  i32GeS(): this {
    return this.op(0x4e);
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  f64x2Splat(): this {
    return this.op(0xfd, ...uleb(20));
  }
  f64x2ExtractLane(lane: 0 | 1): this {
    return this.op(0xfd, ...uleb(33), lane);
  }
  /** i8x16.shuffle: byte k of the result is byte lanes[k] of the two vectors (0-15 the first, 16-31 the second). */
  i8x16Shuffle(lanes: number[]): this {
    return this.op(0xfd, ...uleb(13), ...lanes);
  }
  f64x2ReplaceLane(lane: 0 | 1): this {
    return this.op(0xfd, ...uleb(34), lane);
  }
  /** v128.const of two doubles (lane 0, lane 1). */
  v128ConstF64(a: number, b = a): this {
    const bytes = new DataView(new ArrayBuffer(16));
    bytes.setFloat64(0, a, true);
    bytes.setFloat64(8, b, true);
    return this.op(0xfd, ...uleb(12), ...new Uint8Array(bytes.buffer));
  }
  f64x2Abs(): this {
    return this.op(0xfd, ...uleb(236));
  }
  f64x2Eq(): this {
    return this.op(0xfd, ...uleb(71));
  }
  f64x2Lt(): this {
    return this.op(0xfd, ...uleb(73));
  }
  f64x2Ge(): this {
    return this.op(0xfd, ...uleb(76));
  }
  /** f64x2.max: NaN in a lane where either is NaN, as Math.max. */
  f64x2Max(): this {
    return this.op(0xfd, ...uleb(245));
  }
  /** f64x2.trunc: toward zero, lane by lane. */
  f64x2Trunc(): this {
    return this.op(0xfd, ...uleb(122));
  }
  v128Not(): this {
    return this.op(0xfd, ...uleb(77));
  }
  v128And(): this {
    return this.op(0xfd, ...uleb(78));
  }
  v128Or(): this {
    return this.op(0xfd, ...uleb(80));
  }
  /** v128.bitselect: bits of the first where the third (the mask) is 1, else of the second. */
  v128Bitselect(): this {
    return this.op(0xfd, ...uleb(82));
  }
  v128AnyTrue(): this {
    return this.op(0xfd, ...uleb(83));
  }
  i32x4TruncSatF64x2SZero(): this {
    return this.op(0xfd, ...uleb(252));
  }
  i64x2ExtendLowI32x4S(): this {
    return this.op(0xfd, ...uleb(199));
  }
  i64x2Shl(): this {
    return this.op(0xfd, ...uleb(203));
  }
  i64x2Add(): this {
    return this.op(0xfd, ...uleb(206));
  }
  f64x2Mul(): this {
    return this.op(0xfd, ...uleb(242));
  }
  f64x2Div(): this {
    return this.op(0xfd, ...uleb(243));
  }
  f64x2Add(): this {
    return this.op(0xfd, ...uleb(240));
  }
  f64x2Sub(): this {
    return this.op(0xfd, ...uleb(241));
  }
  f64Div(): this {
    return this.op(0xa3);
  }
  f64Neg(): this {
    return this.op(0x9a);
  }
  f64Eq(): this {
    return this.op(0x61);
  }
  f64Ne(): this {
    return this.op(0x62);
  }
  /** f64.max: NaN when either is NaN, as Math.max. */
  f64Max(): this {
    return this.op(0xa5);
  }
  f64ConvertI32S(): this {
    return this.op(0xb7);
  }
  /** i32.trunc_f64_s: toward zero, as C's (int) cast (traps outside the i32 range). */
  i32TruncF64S(): this {
    return this.op(0xaa);
  }
  i64ReinterpretF64(): this {
    return this.op(0xbd);
  }
  f64ReinterpretI64(): this {
    return this.op(0xbf);
  }
  i64ExtendI32U(): this {
    return this.op(0xad);
  }
  i32WrapI64(): this {
    return this.op(0xa7);
  }
  i64Shl(): this {
    return this.op(0x86);
  }
  i64ShrU(): this {
    return this.op(0x88);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32ShrU(): this {
    return this.op(0x76);
  }
  i32Or(): this {
    return this.op(0x72);
  }
  /** `block` with no result, or one value of type `result`; `br_if 0` inside it jumps past its `end`. */
  block(result?: ValueType): this {
    return this.op(0x02, result ?? 0x40);
  }
  /** `if` with no result: runs up to `else` or `end` when the i32 above is non-zero. */
  if(): this {
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  br(depth: number): this {
    return this.op(0x0c, ...uleb(depth));
  }
  return(): this {
    return this.op(0x0f);
  }
  unreachable(): this {
    return this.op(0x00);
  }
  /** `loop` with no result; `br_if 0` inside it jumps back to its start. */
  loop(): this {
    return this.op(0x03, 0x40);
  }
  brIf(depth: number): this {
    return this.op(0x0d, ...uleb(depth));
  }
  end(): this {
    return this.op(0x0b);
  }
}

export interface FunctionDef {
  name: string;
  /** Parameter count, all i32 (byte addresses and counts). */
  params: number;
  /** Whether it returns one i32 (what its code leaves on the stack), or nothing. */
  result?: boolean;
  /** Types of the locals after the parameters. */
  locals: ValueType[];
  code: Code;
}

/**
 * A module importing memory `env.memory` (shared or not, as the memory it will be given; at most
 * 65536 pages) and exporting the functions.
 */
export function encodeModule(functions: FunctionDef[], sharedMemory: boolean): Uint8Array {
  const section = (id: number, body: number[]) => [id, ...sized(body)];
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const types = vec(
    functions.map((f) => [
      0x60,
      ...uleb(f.params),
      ...Array(f.params).fill(I32),
      ...(f.result ? [1, I32] : [0]),
    ]),
  );
  // Memory limits: flag 3 is shared with a maximum (shared memories need one), 0 a minimum alone.
  const limits = sharedMemory ? [0x03, 0, ...uleb(65536)] : [0x00, 0];
  const imports = vec([[...name('env'), ...name('memory'), 0x02, ...limits]]);
  const funcs = vec(functions.map((_, k) => uleb(k)));
  const exports = vec(functions.map((f, k) => [...name(f.name), 0x00, ...uleb(k)]));
  const bodies = vec(
    functions.map((f) => {
      // Locals as runs of one type each.
      const runs: number[][] = [];
      for (const t of f.locals) {
        const last = runs[runs.length - 1];
        if (last !== undefined && last[1] === t) last[0]!++;
        else runs.push([1, t]);
      }
      return sized([...vec(runs.map(([count, t]) => [...uleb(count!), t!])), ...f.code.bytes, 0x0b]);
    }),
  );
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, types),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, bodies),
  ]);
}
