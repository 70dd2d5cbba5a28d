import { describe, expect, it, vi } from 'vitest';
import { newIds } from '../../core/ids.js';
import { seededRandom } from '../../core/random.js';
import type { PredictionOutput } from '../serving.schema.js';
import { decodeGroup, encodeGroup } from './entry-group.js';
import {
  type Cell,
  flattenRows,
  PREDICTION_WIDTH,
  type PredictionBatch,
  packBatch,
} from './prediction-row.js';

/*
 * The binary entry must give back, cell for cell, the rows the JSON packing gave: the same text in
 * the inputs and outputs columns (not only equal objects), so rows logged before and after the change
 * read alike. `jsonRows` is that packing, as it was.
 */
function jsonRows(b: PredictionBatch, from = 0, to = b.ids.length): Cell[] {
  const cells: Cell[] = [];
  for (let i = from; i < to; i++) {
    const s = b.shadow?.outputs?.[i];
    cells.push(
      b.ids[i] as string,
      b.deploymentId,
      b.modelVersionId,
      b.model,
      b.version,
      b.alias,
      b.role,
      b.servedAt,
      b.requestKey,
      JSON.stringify(b.inputs[i]),
      b.error ? 'null' : JSON.stringify(b.outputs[i]),
      Math.max(0, Math.round(b.latencyUs)),
      b.shadow?.modelVersionId ?? null,
      s ? JSON.stringify(s) : null,
      b.shadow?.error ?? null,
      b.error ? JSON.stringify(b.error) : null,
    );
  }
  return cells;
}

function batch(inputs: Record<string, unknown>[], over: Partial<PredictionBatch> = {}): PredictionBatch {
  return {
    ids: newIds('pred', inputs.length),
    deploymentId: 'dep_codec',
    modelVersionId: 'mv_codec',
    model: 'credit',
    version: 3,
    alias: 'champion',
    role: 'champion',
    servedAt: Date.UTC(2026, 11, 4, 23, 0, 0, 123),
    requestKey: null,
    inputs,
    outputs: inputs.map((_, i) => ({ prediction: i % 2, probabilities: { '0': 0.25 + i, '1': 0.75 } })),
    latencyUs: 812.4,
    shadow: null,
    ...over,
  };
}

const roundTrip = (b: PredictionBatch, from?: number, to?: number) =>
  expect(flattenRows([packBatch(b, from, to)])).toEqual(jsonRows(b, from, to));

describe('binary packed entries', () => {
  it('give back the rows of number columns exactly, the extremes of a float64 included', () => {
    const extremes = [
      0,
      -0,
      1.5,
      -2.25,
      0.1 + 0.2,
      2 ** 53 - 1,
      -(2 ** 53) - 2,
      1e21,
      123456789012345680000,
      5e-324,
      Number.MAX_VALUE,
      -Number.MIN_VALUE,
      1 / 3,
    ];
    const b = batch(extremes.map((v, i) => ({ a: v, b: -v, c: i })));
    roundTrip(b);
    const [, , , , , , , , , inputs] = flattenRows([packBatch(b)]);
    // -0 is written as JSON.stringify writes it: 0.
    expect(inputs).toBe('{"a":0,"b":0,"c":0}');
    const rows = flattenRows([packBatch(b)]);
    for (let i = 0; i < extremes.length; i++)
      expect((JSON.parse(rows[i * 16 + 9] as string) as { a: number }).a).toBe(
        Object.is(extremes[i], -0) ? 0 : extremes[i],
      );
  });

  it('write NaN and the infinities as JSON does (null), should an unchecked record carry them', () => {
    roundTrip(
      batch([
        { x: Number.NaN, y: Number.POSITIVE_INFINITY },
        { x: 1, y: Number.NEGATIVE_INFINITY },
      ]),
    );
  });

  it('keep strings exactly: unicode, escapes, control characters and lone surrogates', () => {
    const texts = [
      'north',
      'Zürich',
      '東京',
      '😀 emoji',
      'quote " and \\ slash',
      'tab\tnew\nline\u0001',
      '',
      '\ud800',
    ];
    roundTrip(batch(texts.map((t, i) => ({ region: t, n: i }))));
    // Only well-formed strings: the pool travels as UTF-8.
    roundTrip(batch(texts.slice(0, -1).map((t) => ({ region: t }))));
  });

  it('keep booleans, nulls and columns that mix types', () => {
    roundTrip(
      batch([
        { a: true, b: null, c: 1, d: 'x' },
        { a: false, b: null, c: 'one', d: 2 },
        { a: true, b: 3.5, c: null, d: false },
      ]),
    );
  });

  it('keep records whose keys differ from the first as they are', () => {
    roundTrip(
      batch([
        { x: 1, y: 2 },
        { y: 2, x: 1 },
        { x: 1 },
        { x: 1, y: 2, z: 3 },
        { x: { nested: [1, 'a'] }, y: 2 },
        { x: [1, 2], y: 2 },
        {},
        { x: undefined, y: 2 },
        { x: 5, y: 6 },
      ]),
    );
    // Keys JSON.parse makes that an assignment would not: __proto__, array indices, odd characters.
    const odd = '{"__proto__":1,"2":"b","0":"a","quo\\"te":true,"line\u2028sep":null,"ü":2.5}';
    roundTrip(batch([JSON.parse(odd), JSON.parse(odd.replace('2.5', '-7'))]));
    expect(flattenRows([packBatch(batch([JSON.parse(odd)]))])[9]).toBe(JSON.stringify(JSON.parse(odd)));
    // A first record that fits no column: every record keeps its own JSON.
    roundTrip(batch([{ x: { deep: true } }, { x: 1 }]));
    roundTrip(batch([{}, {}, { a: 1 }]));
  });

  it('print each inputs text as JSON.stringify of its record, over values where printing is subtle', () => {
    const numbers = [
      -0,
      0,
      1e21,
      1e-7,
      5e-7,
      0.1 + 0.2,
      2 ** 53 + 2,
      -(2 ** 31),
      123456789.125,
      1.7976931348623157e308,
    ];
    const strings = ['say "hi"', 'back\\slash', 'é\u{1F600}', '\ud800', 'x\udc00y', '\u2028\n\t', ''];
    const records: Record<string, unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      // A column of numbers only (the float64 path), one of mixed values (the tagged path).
      const n = numbers[i % numbers.length] as number;
      const mixed = [numbers[(i * 3) % numbers.length], strings[i % strings.length], null, i % 2 === 0][
        i % 4
      ];
      records.push({ num: n, 'k"ey\u00e9': mixed, '\ud83d': -n });
    }
    // Records that are not columnar keep their own text: a missing key, another key order, a nested value.
    records.push({ num: 1, '\ud83d': 2 }, { '\ud83d': 2, num: 1, 'k"ey\u00e9': 3 }, { num: { x: -0 } });
    const rows = flattenRows([packBatch(batch(records))]);
    expect(records.map((_, i) => rows[i * PREDICTION_WIDTH + 9])).toEqual(
      records.map((r) => JSON.stringify(r)),
    );
  });

  it('keep outputs that are not regular: string labels, raw outputs, changing classes, nulls', () => {
    const outputs: PredictionOutput[] = [
      { prediction: 'yes', probabilities: { no: 0.1, yes: 0.9 } },
      { prediction: 'no', probabilities: { no: 0.6, yes: 0.4 } },
      { prediction: 'no', probabilities: { yes: 0.4, no: 0.6 } },
      { prediction: 'maybe', probabilities: { no: 0.6, yes: 0.3, maybe: 0.1 } },
      { prediction: 1.25, outputs: { variable: [1.25], score: 0.5 } },
      { prediction: null },
      null as unknown as PredictionOutput,
    ];
    roundTrip(
      batch(
        outputs.map((_, i) => ({ x: i })),
        { outputs },
      ),
    );
    roundTrip(batch([{ x: 1 }, { x: 2 }], { outputs: [{ prediction: 3.5 }, { prediction: -0 }] }));
    roundTrip(
      batch([{ x: 1 }, { x: 2 }], {
        outputs: [{ prediction: 1, outputs: { a: 1 } }, { prediction: 2 }],
      }),
    );
    roundTrip(batch([{ x: 1 }], { outputs: [{ prediction: 1, probabilities: {} }] }));
    // The outputs' JSON given by the caller (the runtime's, for its reply) is the text written: same bytes.
    const b = batch(
      outputs.map((_, i) => ({ x: i })),
      { outputs },
    );
    const given = packBatch({ ...b, outputsJson: outputs.map((o) => JSON.stringify(o)) });
    expect(Buffer.from(given.bytes).equals(Buffer.from(packBatch(b).bytes))).toBe(true);
  });

  it('keep a failed request: the error once, JSON null as every output', () => {
    const b = batch([{ x: 1 }, { x: 2 }], {
      outputs: [],
      error: { code: 'MODEL_SERVER_TIMEOUT', message: 'the model server did not answer in 2000 ms "quoted"' },
      requestKey: 'req-9',
      alias: null,
    });
    roundTrip(b);
    const rows = flattenRows([packBatch(b)]);
    expect(rows[10]).toBe('null');
    expect(JSON.parse(rows[15] as string)).toEqual(b.error);
  });

  it('keep shadow outputs, missing ones and a failed shadow', () => {
    const inputs = [{ x: 1 }, { x: 2 }, { x: 3 }];
    roundTrip(
      batch(inputs, {
        shadow: {
          modelVersionId: 'mv_shadow',
          outputs: [{ prediction: 0, probabilities: { '0': 0.5, '1': 0.5 } }, null, { prediction: 'odd' }],
          error: null,
        },
      }),
    );
    roundTrip(batch(inputs, { shadow: { modelVersionId: 'mv_shadow', outputs: null, error: 'timed out' } }));
  });

  it('pack a slice of a batch (a batch larger than the ledger takes at once)', () => {
    const b = batch(
      Array.from({ length: 10 }, (_, i) => ({ x: i, s: `v${i}` })),
      { requestKey: 'k' },
    );
    roundTrip(b, 3, 7);
    roundTrip(b, 0, 1);
  });

  it('give back random batches cell for cell', () => {
    const rand = seededRandom(7);
    const value = (): unknown => {
      const p = rand();
      if (p < 0.6) return Math.round((rand() - 0.5) * 1e6) / 1e3;
      if (p < 0.7) return rand() * 1e300;
      if (p < 0.8) return `s${Math.floor(rand() * 1000)}\u00e9`;
      if (p < 0.9) return rand() < 0.5;
      return null;
    };
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(rand() * 40);
      const width = Math.floor(rand() * 8);
      const numeric = rand() < 0.5;
      const inputs = Array.from({ length: n }, () => {
        const r: Record<string, unknown> = {};
        for (let j = 0; j < width; j++) r[`f${j}`] = numeric ? rand() * 100 - 50 : value();
        if (rand() < 0.05) r.extra = 1;
        return r;
      });
      roundTrip(batch(inputs, { servedAt: Math.floor(rand() * 2 ** 41), latencyUs: rand() * 1e5 }));
    }
  });

  it('travel as a group, read in place or from bytes that are not aligned', () => {
    const entries = [packBatch(batch([{ x: 1.5 }, { x: 2 }])), packBatch(batch([{ y: 'a' }]))];
    const group = encodeGroup(entries);
    const shifted = Buffer.alloc(group.length + 3);
    group.copy(shifted, 3);
    for (const bytes of [group, shifted.subarray(3)]) {
      const back = decodeGroup(bytes);
      expect(back.map((e) => [e.rows, e.deploymentId])).toEqual([
        [2, 'dep_codec'],
        [1, 'dep_codec'],
      ]);
      expect(flattenRows(back)).toEqual(flattenRows(entries));
    }
  });

  it("a group's padding is zeros, never memory left over, so the same entries give the same bytes", () => {
    // Three entries (an odd count: the lengths end 4 bytes short of 8) of lengths that are not multiples of 8.
    const entries = [
      packBatch(batch([{ x: 1.5 }])),
      packBatch(batch([{ y: 'ab' }, { y: 'c' }])),
      packBatch(batch([{ z: true }])),
    ];
    // The group's buffer comes dirty (as reused memory can): only the encoder's own zeros clear it.
    const dirty = vi
      .spyOn(Buffer, 'allocUnsafeSlow')
      .mockImplementation((size: number) => Buffer.alloc(size, 0xab));
    let group: Buffer;
    let again: Buffer;
    try {
      group = encodeGroup(entries, 8);
      again = encodeGroup(entries, 8);
      expect(dirty).toHaveBeenCalledTimes(2);
    } finally {
      dirty.mockRestore();
    }
    const padded = (n: number) => (n + 7) & ~7;
    let at = 8 + padded(4 + 4 * entries.length);
    const gaps: number[] = [...group.subarray(8 + 4 + 4 * entries.length, at)];
    for (const e of entries) {
      gaps.push(...group.subarray(at + e.bytes.length, at + padded(e.bytes.length)));
      at += padded(e.bytes.length);
    }
    expect(entries.some((e) => e.bytes.length % 8 !== 0)).toBe(true);
    expect(gaps.length).toBeGreaterThan(4);
    expect(gaps.every((b) => b === 0)).toBe(true);
    expect(again.subarray(8).equals(group.subarray(8))).toBe(true);
  });

  it('a damaged entry is an error, never a wrong row', () => {
    const e = packBatch(batch([{ x: 1 }, { x: 2 }]));
    const cut = { ...e, bytes: e.bytes.subarray(0, e.bytes.length - 1) };
    expect(() => flattenRows([cut])).toThrow(/packed entry/);
    const bytes = Buffer.from(e.bytes);
    bytes.writeUInt32LE(5, 4);
    expect(() => flattenRows([{ ...e, bytes }])).toThrow(/packed entry/);
    expect(() => decodeGroup(Buffer.from([9, 0, 0, 0]))).toThrow(/group/);
  });
});
