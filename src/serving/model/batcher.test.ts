import { describe, expect, it } from 'vitest';
import { MicroBatcher } from './batcher.js';

type Row = Record<string, unknown>;
const rowsOf = (...ids: number[]): Row[] => ids.map((id) => ({ id }));

/** A model that doubles each row's id; rows with `bad` make the whole run fail. */
function doubler() {
  const runs: number[][] = [];
  const execute = async (rows: readonly Row[]) => {
    runs.push(rows.map((r) => r.id as number));
    if (rows.some((r) => r.bad === true)) throw new Error('bad row in the run');
    return rows.map((r) => (r.id as number) * 2);
  };
  return { runs, execute };
}

async function answer(b: MicroBatcher<number[]>, rows: Row[]): Promise<number[]> {
  const { result, offset } = await b.submit(rows);
  return result.slice(offset, offset + rows.length);
}

describe('micro-batching', () => {
  it('calls made in the same turn share one run, and each gets its own rows back', async () => {
    const { runs, execute } = doubler();
    const b = new MicroBatcher(execute);
    const answers = await Promise.all([answer(b, rowsOf(1)), answer(b, rowsOf(2, 3)), answer(b, rowsOf(4))]);
    expect(answers).toEqual([[2], [4, 6], [8]]);
    expect(runs).toEqual([[1, 2, 3, 4]]);
    expect(b.stats()).toMatchObject({ runs: 1, calls: 3, rows: 4, maxCallsPerRun: 3 });
  });

  it('a lone call runs without waiting for company', async () => {
    const { runs, execute } = doubler();
    const b = new MicroBatcher(execute);
    expect(await answer(b, rowsOf(5))).toEqual([10]);
    expect(await answer(b, rowsOf(6))).toEqual([12]);
    expect(runs).toEqual([[5], [6]]);
  });

  it('calls arriving while a run is out form the next batch', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const runs: number[][] = [];
    const b = new MicroBatcher<number[]>(async (rows) => {
      runs.push(rows.map((r) => r.id as number));
      if (runs.length === 1) await gate;
      return rows.map((r) => r.id as number);
    });
    const first = answer(b, rowsOf(1));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const later = [answer(b, rowsOf(2)), answer(b, rowsOf(3))];
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([[1]]);
    release();
    expect(await Promise.all([first, ...later])).toEqual([[1], [2], [3]]);
    expect(runs).toEqual([[1], [2, 3]]);
  });

  it('a run takes whole calls up to maxBatchRows', async () => {
    const { runs, execute } = doubler();
    const b = new MicroBatcher(execute, { maxBatchRows: 3 });
    const answers = await Promise.all([
      answer(b, rowsOf(1, 2)),
      answer(b, rowsOf(3, 4)),
      answer(b, rowsOf(5)),
      answer(b, rowsOf(6, 7, 8, 9)),
    ]);
    expect(answers).toEqual([[2, 4], [6, 8], [10], [12, 14, 16, 18]]);
    expect(runs).toEqual([
      [1, 2],
      [3, 4, 5],
      [6, 7, 8, 9],
    ]);
  });

  it("a failing call fails alone: the others' rows are run again without it", async () => {
    const { execute } = doubler();
    const b = new MicroBatcher(execute);
    const results = await Promise.allSettled([
      answer(b, rowsOf(1)),
      answer(b, [{ id: 2, bad: true }]),
      answer(b, rowsOf(3)),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: [2] });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { message: 'bad row in the run' } });
    expect(results[2]).toEqual({ status: 'fulfilled', value: [6] });
  });

  it('idle() waits for queued and running calls', async () => {
    const { runs, execute } = doubler();
    const b = new MicroBatcher(execute);
    const calls = [0, 1, 2, 3, 4].map((i) => answer(b, rowsOf(i)));
    expect(b.pending).toBe(5);
    await b.idle();
    expect(runs.flat()).toEqual([0, 1, 2, 3, 4]);
    expect(b.pending).toBe(0);
    await b.idle();
    expect(await Promise.all(calls)).toEqual([[0], [2], [4], [6], [8]]);
  });
});
