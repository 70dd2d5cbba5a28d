import type { KyselyPlugin } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/backends.js';
import { ValidationError } from '../core/errors.js';
import type { Db, RunTable } from '../store/index.js';
import { dialectOf, likeToGlob } from '../store/index.js';
import { insertMetrics } from './run-data.repo.js';
import { parseRunFilter, parseRunOrderBy } from './run-filter.js';
import { type RunViewType, searchRuns } from './run-search.repo.js';

let seq = 0;
/** A prefix no other test uses, so tests can share one database. */
const uniq = () => `t${Date.now().toString(36)}${(seq++).toString(36)}`;

interface RunSpec {
  name?: string;
  status?: string;
  user?: string;
  start?: number;
  end?: number | null;
  stage?: 'active' | 'deleted';
  metrics?: Record<string, number>;
  params?: Record<string, string>;
  tags?: Record<string, string>;
}

async function makeExperiment(db: Db): Promise<number> {
  const row = await db
    .insertInto('experiments')
    .values({
      name: `exp-${uniq()}`,
      artifact_location: 'mem:',
      lifecycle_stage: 'active',
      created_at: 0,
      updated_at: 0,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

function runRow(experimentId: number, id: string, spec: RunSpec = {}): RunTable {
  return {
    id,
    experiment_id: experimentId,
    name: spec.name ?? id,
    status: spec.status ?? 'FINISHED',
    lifecycle_stage: spec.stage ?? 'active',
    user_id: spec.user ?? 'ada',
    start_time: spec.start ?? 1000,
    end_time: spec.end === undefined ? 2000 : spec.end,
    artifact_uri: `mlflow-artifacts:/${experimentId}/${id}/artifacts`,
    git_commit: null,
    git_dirty: null,
    command: null,
    deleted_at: null,
    updated_at: 0,
  };
}

async function makeRun(db: Db, experimentId: number, id: string, spec: RunSpec = {}): Promise<string> {
  await db
    .insertInto('runs')
    .values(runRow(experimentId, id, spec))
    .execute();
  const metrics = Object.entries(spec.metrics ?? {}).map(([key, v]) => ({
    run_id: id,
    key,
    value: Number.isNaN(v) ? null : v,
    is_nan: Number.isNaN(v) ? 1 : 0,
    timestamp: 1,
    step: 0,
  }));
  if (metrics.length > 0) await db.insertInto('latest_metrics').values(metrics).execute();
  const kv = (m: Record<string, string> | undefined) =>
    Object.entries(m ?? {}).map(([key, value]) => ({ run_id: id, key, value }));
  if (kv(spec.params).length > 0) await db.insertInto('params').values(kv(spec.params)).execute();
  if (kv(spec.tags).length > 0) await db.insertInto('run_tags').values(kv(spec.tags)).execute();
  return id;
}

/** An experiment of named runs; `search` answers with the names (the run ids minus the test's prefix). */
async function fixture(db: Db, runs: Record<string, RunSpec>) {
  const experimentId = await makeExperiment(db);
  const prefix = `${uniq()}-`;
  for (const [name, spec] of Object.entries(runs)) await makeRun(db, experimentId, prefix + name, spec);
  const strip = (ids: string[]) => ids.map((id) => id.slice(prefix.length));
  return {
    experimentId,
    prefix,
    strip,
    search: async (
      filter = '',
      orderBy: string[] = [],
      opts: { runViewType?: RunViewType; maxResults?: number; pageToken?: string } = {},
    ) => {
      const page = await searchRuns({
        tx: db,
        experimentIds: [experimentId],
        filter: parseRunFilter(filter),
        orderBy: parseRunOrderBy(orderBy),
        runViewType: opts.runViewType ?? 'ACTIVE_ONLY',
        ...(opts.maxResults === undefined ? {} : { maxResults: opts.maxResults }),
        ...(opts.pageToken === undefined ? {} : { pageToken: opts.pageToken }),
      });
      return { names: strip(page.runIds), nextPageToken: page.nextPageToken };
    },
  };
}

const sorted = (names: string[]) => [...names].sort();

type Cmp = '=' | '!=' | '<' | '<=' | '>' | '>=';
type MetricClauseSpec = [key: string, cmp: Cmp, value: number];

/** MLflow's metric comparison: a missing metric never matches, NaN only matches !=. */
function holds(v: number | undefined, cmp: Cmp, x: number): boolean {
  if (v === undefined) return false;
  if (Number.isNaN(v)) return cmp === '!=';
  const byCmp = { '=': v === x, '!=': v !== x, '<': v < x, '<=': v <= x, '>': v > x, '>=': v >= x };
  return byCmp[cmp];
}

/**
 * The names of `runs` matching every clause, in MLflow's order by metric terms: per term numbers
 * (in the term's direction), then NaN, then missing; ties by start_time DESC, then run id.
 */
function mlflowOrder(
  runs: Record<string, RunSpec>,
  clauses: MetricClauseSpec[],
  terms: [key: string, ascending: boolean][],
): string[] {
  const metric = (name: string, key: string) => runs[name]?.metrics?.[key];
  const rank = (v: number | undefined) => (v === undefined ? 2 : Number.isNaN(v) ? 1 : 0);
  const cmp = <T>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);
  return Object.keys(runs)
    .filter((name) => clauses.every(([key, c, x]) => holds(metric(name, key), c, x)))
    .sort((a, b) => {
      for (const [key, ascending] of terms) {
        const [x, y] = [metric(a, key), metric(b, key)];
        const d = cmp(rank(x), rank(y)) || (rank(x) === 0 ? (ascending ? 1 : -1) * cmp(x, y) : 0);
        if (d !== 0) return d;
      }
      return cmp(runs[b]?.start ?? 1000, runs[a]?.start ?? 1000) || cmp(a, b);
    });
}

it('likeToGlob keeps LIKE wildcards and makes GLOB metacharacters literal', () => {
  expect(likeToGlob('a%b_c')).toBe('a*b?c');
  expect(likeToGlob('*?[x]')).toBe('[*][?][[]x]');
  expect(likeToGlob('50\\%\\_\\\\')).toBe('50%_\\');
});

describeEachBackend('searchRuns', (store, backend) => {
  const db = () => store().db;

  it('compares metrics with every numeric comparator against the latest value; NaN only matches !=', async () => {
    const f = await fixture(db(), {
      low: { metrics: { acc: 0.1 } },
      mid: { metrics: { acc: 0.5 } },
      high: { metrics: { acc: 0.9 } },
      nan: { metrics: { acc: Number.NaN } },
      none: { metrics: { loss: 1 } },
    });
    const names = async (filter: string) => sorted((await f.search(filter)).names);
    expect(await names('metrics.acc = 0.5')).toEqual(['mid']);
    expect(await names('metrics.acc != 0.5')).toEqual(['high', 'low', 'nan']);
    expect(await names('metrics.acc < 0.5')).toEqual(['low']);
    expect(await names('metrics.acc <= 0.5')).toEqual(['low', 'mid']);
    expect(await names('metrics.acc > 0.5')).toEqual(['high']);
    expect(await names('metrics.acc >= 0.5')).toEqual(['high', 'mid']);
    expect(await names('metrics.acc > -1')).toEqual(['high', 'low', 'mid']);
    expect(await names('metrics.missing < 100')).toEqual([]);
  });

  it('reads latest_metrics, not the metric history', async () => {
    const f = await fixture(db(), { r: { metrics: { acc: 0.2 } } });
    await insertMetrics({
      tx: db(),
      dialect: dialectOf(db()),
      rows: [{ run_id: `${f.prefix}r`, key: 'acc', value: 0.95, is_nan: 0, timestamp: 1, step: 0 }],
    });
    expect((await f.search('metrics.acc > 0.9')).names).toEqual([]);
    expect((await f.search('metrics.acc < 0.3')).names).toEqual(['r']);
  });

  it('filters params with =, !=, case-sensitive LIKE and case-insensitive ILIKE; runs without the param never match', async () => {
    const f = await fixture(db(), {
      adam: { params: { opt: 'Adam', lr: '0.01' } },
      adamw: { params: { opt: 'adamw', lr: '0.1' } },
      sgd: { params: { opt: 'SGD' } },
      star: { params: { opt: 'a*[b]?' } },
      pct: { params: { opt: '50%_off' } },
      bare: {},
    });
    const names = async (filter: string) => sorted((await f.search(filter)).names);
    expect(await names("params.lr = '0.01'")).toEqual(['adam']);
    expect(await names("params.opt = 'adam'")).toEqual([]);
    expect(await names("params.lr != '0.01'")).toEqual(['adamw']);
    expect(await names("params.opt LIKE 'Ada%'")).toEqual(['adam']);
    expect(await names("params.opt LIKE 'ada%'")).toEqual(['adamw']);
    expect(await names("params.opt LIKE '_GD'")).toEqual(['sgd']);
    expect(await names("params.opt ILIKE 'ada%'")).toEqual(['adam', 'adamw']);
    expect(await names("params.opt ILIKE '%D%'")).toEqual(['adam', 'adamw', 'sgd']);
    expect(await names("params.opt LIKE 'a*[b]?'")).toEqual(['star']);
    expect(await names("params.opt LIKE 'a*%'")).toEqual(['star']);
    expect(await names("params.opt LIKE '50\\%\\_%'")).toEqual(['pct']);
    expect(await names("params.opt LIKE '50\\%x%'")).toEqual([]);
    expect(await names("params.opt ILIKE '50\\%\\_OFF'")).toEqual(['pct']);
  });

  it('filters tags, and reads tags.mlflow.runName as the run name', async () => {
    const f = await fixture(db(), {
      a: { name: 'alpha', tags: { team: 'Vision' } },
      b: { name: 'beta', tags: { team: 'nlp' } },
      c: { name: 'Alps' },
    });
    const names = async (filter: string) => sorted((await f.search(filter)).names);
    expect(await names("tags.team = 'Vision'")).toEqual(['a']);
    expect(await names("tags.team != 'Vision'")).toEqual(['b']);
    expect(await names("tags.team LIKE 'v%'")).toEqual([]);
    expect(await names("tags.team ILIKE 'v%'")).toEqual(['a']);
    expect(await names("tags.`mlflow.runName` = 'beta'")).toEqual(['b']);
    expect(await names("tags.mlflow.runName LIKE 'Al%'")).toEqual(['c']);
  });

  it('filters attributes: status, run_name, user_id, start_time, end_time, run_id lists', async () => {
    const f = await fixture(db(), {
      a: { name: 'alpha', status: 'FINISHED', start: 100, end: 150, user: 'ada' },
      b: { name: 'Alpine', status: 'FAILED', start: 200, end: 260, user: 'bob' },
      c: { name: 'gamma', status: 'RUNNING', start: 300, end: null, user: 'ada' },
    });
    const names = async (filter: string) => sorted((await f.search(filter)).names);
    expect(await names("attributes.status = 'FINISHED'")).toEqual(['a']);
    expect(await names("status != 'RUNNING'")).toEqual(['a', 'b']);
    expect(await names("attributes.status LIKE 'F%'")).toEqual(['a', 'b']);
    expect(await names("attributes.run_name LIKE 'al%'")).toEqual(['a']);
    expect(await names("attributes.run_name ILIKE 'al%'")).toEqual(['a', 'b']);
    expect(await names("`Run name` = 'gamma'")).toEqual(['c']);
    expect(await names("attributes.user_id = 'ada'")).toEqual(['a', 'c']);
    expect(await names('attributes.start_time >= 200')).toEqual(['b', 'c']);
    expect(await names('attributes.start_time > 150.5')).toEqual(['b', 'c']);
    expect(await names('created < 200')).toEqual(['a']);
    expect(await names('attributes.end_time < 1000')).toEqual(['a', 'b']);
    expect(await names(`attributes.run_id IN ('${f.prefix}a', '${f.prefix}c', 'other')`)).toEqual(['a', 'c']);
    expect(await names(`attributes.run_id NOT IN ('${f.prefix}a')`)).toEqual(['b', 'c']);
    expect(await names(`attributes.artifact_uri LIKE '%/${f.prefix}b/%'`)).toEqual(['b']);
  });

  it('ANDs clauses of every kind', async () => {
    const base: RunSpec = {
      status: 'FINISHED',
      start: 500,
      metrics: { acc: 0.95 },
      params: { lr: '0.1' },
      tags: { t: 'x' },
    };
    const f = await fixture(db(), {
      hit: base,
      lowAcc: { ...base, metrics: { acc: 0.5 } },
      otherLr: { ...base, params: { lr: '0.2' } },
      noTag: { ...base, tags: {} },
      failed: { ...base, status: 'FAILED' },
      later: { ...base, start: 501 },
    });
    const filter =
      "metrics.acc > 0.9 and params.lr = '0.1' AND tags.t = 'x' and attributes.status = 'FINISHED' and start_time = 500";
    expect((await f.search(filter)).names).toEqual(['hit']);
  });

  it('orders by default by start_time DESC, then run id', async () => {
    const f = await fixture(db(), { b: { start: 10 }, a: { start: 10 }, c: { start: 30 }, d: { start: 20 } });
    expect((await f.search()).names).toEqual(['c', 'd', 'a', 'b']);
  });

  it('orders by a metric DESC or ASC with NaN after numbers and missing metrics last, ties by start_time DESC then id', async () => {
    const f = await fixture(db(), {
      m1: { start: 1, metrics: { acc: 0.3 } },
      m2: { start: 2, metrics: { acc: 0.9 } },
      nan: { start: 3, metrics: { acc: Number.NaN } },
      none: { start: 9 },
      m3: { start: 4, metrics: { acc: -0.1 } },
      tieOld: { start: 5, metrics: { acc: 0.5 } },
      tieNewB: { start: 6, metrics: { acc: 0.5 } },
      tieNewA: { start: 6, metrics: { acc: 0.5 } },
    });
    expect((await f.search('', ['metrics.acc DESC'])).names).toEqual(
      'm2 tieNewA tieNewB tieOld m1 m3 nan none'.split(' '),
    );
    expect((await f.search('', ['metrics.acc'])).names).toEqual(
      'm3 m1 tieNewA tieNewB tieOld m2 nan none'.split(' '),
    );
  });

  it('orders by params, tags and attributes, missing values last, with several terms', async () => {
    const f = await fixture(db(), {
      a: { name: 'b-run', start: 3, end: null, params: { lr: '0.1', opt: 'sgd' }, tags: { t: 'Z' } },
      b: { name: 'a-run', start: 1, end: 50, params: { lr: '0.01', opt: 'sgd' }, tags: { t: 'a' } },
      c: { name: 'C-run', start: 2, end: 40, params: { opt: 'adam' } },
    });
    expect((await f.search('', ['params.lr DESC'])).names).toEqual(['a', 'b', 'c']);
    expect((await f.search('', ['params.lr ASC'])).names).toEqual(['b', 'a', 'c']);
    expect((await f.search('', ['tags.t'])).names).toEqual(['a', 'b', 'c']);
    expect((await f.search('', ['params.opt', 'metrics.none', 'attributes.start_time'])).names).toEqual([
      'c',
      'b',
      'a',
    ]);
    expect((await f.search('', ['attributes.start_time ASC'])).names).toEqual(['b', 'c', 'a']);
    expect((await f.search('', ['attributes.end_time DESC'])).names).toEqual(['b', 'c', 'a']);
    expect((await f.search('', ['attributes.run_name'])).names).toEqual(['c', 'b', 'a']);
    expect((await f.search('', ['tags.mlflow.runName DESC'])).names).toEqual(['a', 'b', 'c']);
  });

  it('pages through every run with next_page_token, without duplicates or gaps', async () => {
    const runs: Record<string, RunSpec> = {};
    for (let i = 0; i < 23; i++)
      runs[`r${String(i).padStart(2, '0')}`] = { start: i % 4, metrics: i % 5 ? { acc: i % 7 } : {} };
    const f = await fixture(db(), runs);
    for (const orderBy of [[], ['metrics.acc DESC']]) {
      const all = (await f.search('', orderBy)).names;
      expect(sorted(all)).toEqual(Object.keys(runs).sort());
      const paged: string[] = [];
      const sizes: number[] = [];
      let token: string | undefined;
      do {
        const page = await f.search('', orderBy, { maxResults: 5, ...(token ? { pageToken: token } : {}) });
        paged.push(...page.names);
        sizes.push(page.names.length);
        token = page.nextPageToken;
      } while (token);
      expect(sizes).toEqual([5, 5, 5, 5, 3]);
      expect(paged).toEqual(all);
    }
    const exact = await f.search('', [], { maxResults: 23 });
    expect(exact.names).toHaveLength(23);
    expect(exact.nextPageToken).toBeUndefined();
  });

  it('pages with a filter, and its tokens are MLflow-shaped base64 JSON offsets', async () => {
    const f = await fixture(db(), {
      a: { start: 4, metrics: { acc: 1 } },
      b: { start: 3, metrics: { acc: 0 } },
      c: { start: 2, metrics: { acc: 1 } },
      d: { start: 1, metrics: { acc: 1 } },
    });
    const first = await f.search('metrics.acc > 0.5', [], { maxResults: 2 });
    expect(first.names).toEqual(['a', 'c']);
    expect(JSON.parse(Buffer.from(first.nextPageToken ?? '', 'base64').toString())).toEqual({ offset: 2 });
    const second = await f.search('metrics.acc > 0.5', [], {
      maxResults: 2,
      pageToken: first.nextPageToken ?? '',
    });
    expect(second).toEqual({ names: ['d'], nextPageToken: undefined });
    const mlflowToken = Buffer.from('{"offset": 1}').toString('base64');
    expect((await f.search('metrics.acc > 0.5', [], { pageToken: mlflowToken })).names).toEqual(['c', 'd']);
  });

  it('honours run_view_type', async () => {
    const f = await fixture(db(), { live: { start: 2 }, gone: { start: 1, stage: 'deleted' } });
    expect((await f.search('', [], { runViewType: 'ACTIVE_ONLY' })).names).toEqual(['live']);
    expect((await f.search('', [], { runViewType: 'DELETED_ONLY' })).names).toEqual(['gone']);
    expect((await f.search('', [], { runViewType: 'ALL' })).names).toEqual(['live', 'gone']);
  });

  it('searches several experiments at once, and none when given none', async () => {
    const f = await fixture(db(), { a: { start: 1 } });
    const g = await fixture(db(), { b: { start: 2 } });
    const page = await searchRuns({
      tx: db(),
      experimentIds: [f.experimentId, g.experimentId],
      filter: [],
      orderBy: [],
      runViewType: 'ALL',
    });
    expect(page.runIds).toEqual([`${g.prefix}b`, `${f.prefix}a`]);
    expect(
      await searchRuns({ tx: db(), experimentIds: [], filter: [], orderBy: [], runViewType: 'ALL' }),
    ).toEqual({
      runIds: [],
    });
  });

  it('rejects bad page tokens and max_results outside 1..50000', async () => {
    const f = await fixture(db(), { a: {} });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    for (const pageToken of [
      '%%%',
      b64('hello'),
      b64('{"offset":-1}'),
      b64('{"offset":"x"}'),
      b64('{"offset":1.5}'),
      b64('[]'),
    ]) {
      const err = await f.search('', [], { pageToken }).catch((e: unknown) => e);
      expect(err, pageToken).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).details).toMatchObject({ field: 'page_token' });
    }
    for (const maxResults of [0, -1, 1.5, 50_001]) {
      const err = await f.search('', [], { maxResults }).catch((e: unknown) => e);
      expect(err, String(maxResults)).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).details).toMatchObject({ field: 'max_results' });
    }
    expect((await f.search('', [], { maxResults: 50_000 })).names).toEqual(['a']);
  });

  /** Runs with repeated, infinite, NaN and missing acc and loss values, and ties on start_time. */
  function metricOrderRuns(): Record<string, RunSpec> {
    const accs = [0.5, 0.2, 0.5, Number.NaN, 0.9, undefined, -1, 0.7, 0, Number.POSITIVE_INFINITY, 0.3];
    const losses = [1, Number.NaN, 3, undefined, 1, 0.5, Number.NEGATIVE_INFINITY];
    const runs: Record<string, RunSpec> = {};
    for (let i = 0; i < 44; i++) {
      const metrics: Record<string, number> = {};
      const acc = i === 20 ? Number.NEGATIVE_INFINITY : accs[i % accs.length];
      const loss = losses[(i * 5) % losses.length];
      if (acc !== undefined) metrics.acc = acc;
      if (loss !== undefined) metrics.loss = loss;
      runs[`r${String(i).padStart(2, '0')}`] = {
        start: (i * 7) % 4,
        metrics,
        ...(i % 3 ? { params: { p: `p${i % 4}` } } : {}),
      };
    }
    return runs;
  }

  /** Every page of a search, concatenated, checking that only the last page lacks a token. */
  async function allPages(
    f: Awaited<ReturnType<typeof fixture>>,
    filter: string,
    orderBy: string[],
    maxResults: number,
  ) {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await f.search(filter, orderBy, { maxResults, ...(token ? { pageToken: token } : {}) });
      expect(page.names.length === maxResults || page.nextPageToken === undefined).toBe(true);
      names.push(...page.names);
      token = page.nextPageToken;
    } while (token);
    return names;
  }

  it('filtering on the first metric order key (the joined fast path) keeps MLflow order, NaN and missing included, on every page', async () => {
    const runs = metricOrderRuns();
    const f = await fixture(db(), runs);
    const filters: MetricClauseSpec[][] = [
      [['acc', '>', 0.3]],
      [['acc', '>=', 0.5]],
      [['acc', '<', 0.5]],
      [['acc', '<=', 0]],
      [['acc', '=', 0.5]],
      [
        ['acc', '>', -2],
        ['acc', '<=', 0.7],
      ],
      [
        ['acc', '>=', 0],
        ['loss', '!=', 1],
      ],
      [['acc', '!=', 0.5]],
      [['loss', '<', 2]],
      [],
    ];
    const orders: [string, boolean][][] = [
      [['acc', false]],
      [['acc', true]],
      [
        ['acc', true],
        ['loss', false],
      ],
      [
        ['loss', false],
        ['acc', true],
      ],
    ];
    for (const clauses of filters) {
      const filter = clauses.map(([k, c, x]) => `metrics.${k} ${c} ${x}`).join(' and ');
      for (const terms of orders) {
        const orderBy = terms.map(([k, asc]) => `metrics.${k} ${asc ? 'ASC' : 'DESC'}`);
        const label = `'${filter}' ${orderBy.join(', ')}`;
        const expected = mlflowOrder(runs, clauses, terms);
        // The same order without the filter, then filtered, must give the same runs in the same order.
        const general = (await f.search('', orderBy)).names;
        const matching = new Set((await f.search(filter)).names);
        expect(general, label).toEqual(mlflowOrder(runs, [], terms));
        expect(
          general.filter((n) => matching.has(n)),
          label,
        ).toEqual(expected);
        expect((await f.search(filter, orderBy)).names, label).toEqual(expected);
        for (const size of [1, 3]) expect(await allPages(f, filter, orderBy, size), label).toEqual(expected);
      }
    }
  });

  it('a metric order key behind a param term, or with a filter on it and on another key, orders as without the filter', async () => {
    const f = await fixture(db(), metricOrderRuns());
    for (const orderBy of [
      ['params.p', 'metrics.acc DESC'],
      ['params.p DESC', 'metrics.acc'],
      ['metrics.acc DESC', 'params.p'],
    ]) {
      for (const filter of ['metrics.acc > 0.2', "metrics.acc <= 0.7 and params.p != 'p1'"]) {
        const matching = new Set((await f.search(filter)).names);
        const expected = (await f.search('', orderBy)).names.filter((n) => matching.has(n));
        expect(expected.length).toBeGreaterThan(3);
        expect((await f.search(filter, orderBy)).names, `${filter} ${orderBy}`).toEqual(expected);
        expect(await allPages(f, filter, orderBy, 2), `${filter} ${orderBy}`).toEqual(expected);
      }
    }
  });

  it('the fast path walks the metric index or drives from runs (SQLite picks per page) with the same results', async () => {
    // Another experiment logging the same key, so walking the index in order passes runs of both.
    await fixture(db(), metricOrderRuns());
    const joins: string[] = [];
    const spy: KyselyPlugin = {
      transformQuery: ({ node, queryId }) => {
        const text = store().db.getExecutor().compileQuery(node, queryId).sql;
        const join = /(inner|cross|left) join "latest_metrics" as "o"/.exec(text)?.[1];
        if (join && text.startsWith('select "r"."id"')) joins.push(join);
        return node;
      },
      transformResult: async ({ result }) => result,
    };
    const runs = metricOrderRuns();
    const f = await fixture(db().withPlugin(spy), runs);
    const expected = mlflowOrder(runs, [['acc', '>', 0]], [['acc', false]]);
    expect(await allPages(f, 'metrics.acc > 0', ['metrics.acc DESC'], 1)).toEqual(expected);
    expect((await f.search('metrics.acc > 0', ['metrics.acc DESC'])).names).toEqual(expected);
    // Only the joined search queries count; the spy also sees the fixture's inserts.
    expect(new Set(joins)).toEqual(new Set(backend === 'sqlite' ? ['inner', 'cross'] : ['inner']));
  });

  it.runIf(backend === 'sqlite')(
    'timing sanity check: 10,000 runs x 20 metrics (printed, not asserted)',
    async () => {
      const experimentId = await makeExperiment(db());
      const prefix = uniq();
      await db()
        .transaction()
        .execute(async (tx) => {
          for (let b = 0; b < 10_000; b += 500) {
            const ids = Array.from({ length: 500 }, (_, i) => `${prefix}-${String(b + i).padStart(5, '0')}`);
            await tx
              .insertInto('runs')
              .values(ids.map((id, i) => runRow(experimentId, id, { start: 1_700_000_000_000 + b + i })))
              .execute();
            for (let k = 0; k < 20; k++) {
              const value = (i: number) => (((b + i) * 7919 + k * 104729) % 10_000) / 10_000;
              const rows = ids.map((id, i) => ({
                run_id: id,
                key: `m${k}`,
                value: value(i),
                is_nan: 0,
                timestamp: 1,
                step: 0,
              }));
              await tx.insertInto('latest_metrics').values(rows).execute();
            }
          }
        });
      const cases: Array<[string, string[], string]> = [
        ['metrics.m3 > 0.5', [], 'default order'],
        ['metrics.m3 > 0.99', [], 'default order, 1% match so every run is scanned'],
        ['metrics.m3 > 0.5', ['metrics.m7 DESC'], 'order by metrics.m7 DESC'],
        ['metrics.m3 > 0.5 and metrics.m4 < 0.5', ['params.none'], 'order by a missing param'],
      ];
      for (const [filter, orderBy, label] of cases) {
        const args = {
          tx: db(),
          experimentIds: [experimentId],
          runViewType: 'ACTIVE_ONLY' as const,
          maxResults: 100,
        };
        const search = () =>
          searchRuns({ ...args, filter: parseRunFilter(filter), orderBy: parseRunOrderBy(orderBy) });
        await search();
        const t0 = performance.now();
        const page = await search();
        const ms = (performance.now() - t0).toFixed(1);
        console.log(
          `[timing] sqlite, 10k runs x 20 metrics, first page of 100, '${filter}', ${label}: ${ms} ms`,
        );
        expect(page.runIds.length).toBeGreaterThan(0);
      }
    },
  );
});
