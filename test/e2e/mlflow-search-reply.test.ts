import { expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { createTestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { empty, type MlflowRun, mlflowSession, ok, runsPageSchema, uniq } from './helpers.js';

/*
 * runs/search writes its reply as text, from JSON the database builds for each run's params, latest
 * metrics and tags (the MLflow 2730 replay's read path). These check that text against runs/get, which
 * still maps objects, on the values JSON is hardest on: escapes, non-ASCII, NaN and the infinities,
 * doubles with 17 significant digits, and runs with no data at all.
 */

// Keys in code-point order (what the search lists are in), shuffled when logged. Keys are ASCII letters, digits and _ - . space / : only;
// PostgreSQL's collation would order these differently.
const KEYS = ['10', '9', 'B', 'Z', '_x', 'a', 'a b', 'a-b', 'a.b', 'a/b', 'a:b'];
const HARD_VALUES = [
  'plain',
  'quote " and backslash \\',
  'newline\n tab\t cr\r formfeed\f backspace\b',
  'controls \u0001\u001f and DEL \u007f',
  'line separators \u2028\u2029',
  'non-ASCII: ü 日本語 😀',
  '{"looks":"like json"}',
  '',
];
const METRIC_VALUES: (number | string)[] = [
  0.1,
  1 / 3,
  0.30000000000000004,
  1e-7,
  1e21,
  -2.5,
  42,
  5e-324,
  1.7976931348623157e308,
  'NaN',
  'Infinity',
  '-Infinity',
];

const byKey = <T extends { key: string }>(list: T[]) =>
  [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
const keysOf = (list: readonly { key: string }[]) => list.map((x) => x.key);

/** A run as runs/search carries it: runs/get's shape without MLflow 3's model inputs and outputs. */
function searchShape(run: MlflowRun) {
  return {
    info: run.info,
    data: { metrics: byKey(run.data.metrics), params: byKey(run.data.params), tags: byKey(run.data.tags) },
    inputs: { dataset_inputs: run.inputs?.dataset_inputs ?? [] },
  };
}

describeEachBackend('runs/search reply', (getStore: () => Store) => {
  it('carries every run exactly as runs/get does, each list in code-point order of its keys', async () => {
    const t = await createTestApp(getStore());
    try {
      const s = mlflowSession(t.app);
      const exp = await s.newExperiment();
      const full = await s.newRun(exp, { run_name: 'full "one"\n', start_time: '1700000000000' });
      const id = full.info.run_id;
      const shuffled = [...KEYS].reverse();
      ok(
        await s.logBatch(id, {
          params: shuffled.map((key, i) => ({ key, value: HARD_VALUES[i % HARD_VALUES.length] })),
          tags: shuffled.map((key, i) => ({
            key: `t${key}`,
            value: HARD_VALUES[(i + 3) % HARD_VALUES.length],
          })),
          metrics: shuffled.map((key, i) => ({
            key,
            value: METRIC_VALUES[i % METRIC_VALUES.length],
            timestamp: String(1_700_000_000_000 + i),
            step: String(i * 1_000_000_007),
          })),
        }),
        empty,
      );
      ok(
        await s.client.post('runs/log-inputs', {
          run_id: id,
          datasets: [
            {
              tags: [{ key: 'mlflow.data.context', value: 'train' }],
              dataset: { name: 'iris "v2"', digest: 'abc12345', source_type: 'local', source: '/data/iris' },
            },
          ],
        }),
        empty,
      );
      const updated = await s.client.post('runs/update', {
        run_id: id,
        status: 'FINISHED',
        end_time: '1700000009999',
      });
      expect(updated.statusCode, updated.body).toBe(200);
      const bare = await s.newRun(exp, { start_time: '1600000000000' });

      const res = await s.client.post('runs/search', { experiment_ids: [exp] });
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      const page = ok(res, runsPageSchema);
      expect(page.runs.map((r) => r.info.run_id)).toEqual([id, bare.info.run_id]);
      expect(page.next_page_token).toBeUndefined();
      for (const run of page.runs) {
        expect(run).toEqual(searchShape(await s.getRun(run.info.run_id)));
        for (const keys of [run.data.params, run.data.metrics, run.data.tags].map(keysOf))
          expect(keys).toEqual([...keys].sort());
      }
      const found = page.runs[0]!;
      expect(keysOf(found.data.params)).toEqual(KEYS);
      expect(found.data.params.find((p) => p.key === '9')?.value).toBe(HARD_VALUES[1]);
      expect(Object.fromEntries(found.data.metrics.map((m) => [m.key, m.value]))).toEqual(
        Object.fromEntries(shuffled.map((key, i) => [key, METRIC_VALUES[i % METRIC_VALUES.length]])),
      );
      expect(found.info.end_time).toBe(1_700_000_009_999);
      expect(found.inputs.dataset_inputs).toHaveLength(1);
      const none = page.runs[1]!;
      expect(none.data.metrics).toEqual([]);
      expect(none.data.params).toEqual([]);
      expect(none.info.end_time).toBeUndefined();

      const nothing = await s.client.post('runs/search', {
        experiment_ids: [exp],
        filter: "params.lr = 'x'",
      });
      expect(nothing.statusCode).toBe(200);
      expect(nothing.body).toBe('{"runs":[]}');
    } finally {
      await t.close();
    }
  });

  it('a page read in chunks is the same runs in the same order, and pages end with no token', async () => {
    const t = await createTestApp(getStore());
    try {
      const s = mlflowSession(t.app);
      const exp = await s.newExperiment();
      const names: string[] = [];
      for (let i = 0; i < 7; i++) {
        const run = await s.newRun(exp, { run_name: uniq('r'), start_time: String(1_700_000_000_000 + i) });
        names.unshift(run.info.run_name);
        ok(await s.logBatch(run.info.run_id, { params: [{ key: 'i', value: String(i) }] }), empty);
      }
      const query = { experimentIds: [exp], maxResults: 5 };
      const read = async (chunk?: number) => {
        const page = await t.services.runSearch.searchWithDataJson(query, chunk ? { chunk } : {});
        const sizes: number[] = [];
        const runs: { name: string; params: string }[] = [];
        for await (const part of page.chunks()) {
          sizes.push(part.length);
          for (const { run, data } of part) runs.push({ name: run.name, params: data.params });
        }
        return { sizes, runs, token: page.nextPageToken };
      };
      const whole = await read();
      const chunked = await read(2);
      expect(whole.sizes).toEqual([5]);
      expect(chunked.sizes).toEqual([2, 2, 1]);
      expect(chunked.runs).toEqual(whole.runs);
      expect(whole.runs.map((r) => r.name)).toEqual(names.slice(0, 5));
      expect(whole.runs[0]?.params).toBe('[{"key":"i","value":"6"}]');

      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = ok(
          await s.client.post('runs/search', {
            experiment_ids: [exp],
            max_results: 3,
            ...(token ? { page_token: token } : {}),
          }),
          runsPageSchema,
        );
        seen.push(...page.runs.map((r) => r.info.run_name));
        token = page.next_page_token;
      } while (token);
      expect(seen).toEqual(names);
    } finally {
      await t.close();
    }
  });
});
