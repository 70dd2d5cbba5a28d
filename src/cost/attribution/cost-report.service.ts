import { type Clock, toIso } from '../../core/clock.js';
import { ValidationError } from '../../core/errors.js';
import { parseOrThrow } from '../../core/validate.js';
import type { Db } from '../../store/index.js';
import type { ServedPredictions } from '../meters/served-predictions.js';
import { createPriceLookup, type ParsedPriceBook } from '../prices/price-book.js';
import { allocate, centsAddingUp } from './allocation.js';
import * as repo from './attribution.repo.js';
import { rankCauses } from './cost-causes.js';
import {
  type CostBy,
  type CostReport,
  type CostReportQuery,
  costReportQuerySchema,
} from './cost-report.schema.js';

export interface CostReportDeps {
  db: Db;
  clock: Clock;
  /** The price book in force (undefined: none set, everything prices at 0 and is listed as unpriced). */
  priceBook(): Promise<{ book: ParsedPriceBook; version: number } | undefined>;
  /** The prediction log's counts (cost per 1,000 predictions). */
  served: ServedPredictions;
}

const DAY = 86_400_000;

/** An instant from the API or CLI: epoch ms, YYYY-MM-DD (UTC midnight) or ISO-8601. */
export function parseInstant(v: number | string, field: string): number {
  if (typeof v === 'number') return v;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(t)) throw new ValidationError(`${field}: not a date: '${v}'`, { field });
  return t;
}

/** Where a usage record's money goes when grouped `by`: one key, or several sharing it evenly. */
type Keyer = (row: repo.AttributedUsageRow) => string[];

interface GroupAcc {
  allocated: number;
  idle: number;
  usageRows: number;
  cpuHours: number;
  gpuHours: number;
  storageGibMonths: number;
  deploymentIds?: Set<string>;
}

/** Totals of one period, in micro-units, by key. */
interface PeriodTotals {
  groups: Map<string, GroupAcc>;
  unpriced: Set<string>;
  usageRows: number;
  predictions: Map<string, number>;
}

/** Cost reports and the ledger budgets read: usage priced and grouped, in one pass over one query. */
export function createCostReportService({ db, clock, priceBook, served }: CostReportDeps) {
  /** Storage goes to what holds it: a dataset is its own group; a model version's files its version. */
  async function keyerFor(by: CostBy, rows: repo.AttributedUsageRow[]): Promise<Keyer> {
    const compute = await computeKeyerFor(by, rows);
    const datasets = await repo.datasetLabels({
      tx: db,
      ids: uniq(rows.map((r) => (r.storage_of === 'dataset' ? r.dataset_version_id : null))),
    });
    return (r) => {
      if (r.storage_of === 'dataset' && by !== 'deployment')
        return [datasets.get(r.dataset_version_id!) ?? `dataset:${r.dataset_version_id}`];
      if (r.storage_of === 'model' && (by === 'experiment' || by === 'run' || by.startsWith('tag:')))
        return ['(model versions)'];
      return compute(r);
    };
  }

  async function computeKeyerFor(by: CostBy, rows: repo.AttributedUsageRow[]): Promise<Keyer> {
    if (by === 'experiment')
      return (r) => [r.experiment ?? (r.deployment_id ? '(deployments)' : '(no experiment)')];
    if (by === 'run') return (r) => [r.parent_run_id ?? r.run_id ?? '(no run)'];
    if (by === 'deployment') {
      const names = await repo.deploymentNames({ tx: db, ids: uniq(rows.map((r) => r.deployment_id)) });
      return (r) => [r.deployment_id ? (names.get(r.deployment_id) ?? r.deployment_id) : '(no deployment)'];
    }
    if (by === 'model') {
      // A run's cost goes to the versions it produced, or its parent (the sweep or pipeline run) did;
      // a deployment's to the version it served. Several versions share a record evenly.
      const runIds = uniq(rows.flatMap((r) => [r.run_id, r.parent_run_id]));
      const ofRun = await repo.modelVersionsOfRuns({ tx: db, runIds });
      const labels = await repo.modelVersionLabels({
        tx: db,
        ids: uniq(rows.map((r) => r.model_version_id)),
      });
      return (r) => {
        if (r.model_version_id) return [labels.get(r.model_version_id) ?? r.model_version_id];
        const own =
          (r.run_id ? ofRun.get(r.run_id) : undefined) ??
          (r.parent_run_id ? ofRun.get(r.parent_run_id) : undefined);
        return own?.length ? own : ['(no model)'];
      };
    }
    return (r) => [r.tag_value ?? r.parent_tag_value ?? '(untagged)'];
  }

  /**
   * The usage records of [from, to) as attribution reads them. The range is cut where prices change:
   * inside each piece a record's price is one, so records fully inside a piece are summed in SQL per
   * group; the few that cross a cut (or carry capacity) come one by one.
   */
  async function rowsOf(
    prices: ReturnType<typeof createPriceLookup>,
    dimension: repo.GroupDimension,
    from: number,
    to: number,
    tagKey?: string,
  ): Promise<repo.AttributedUsageRow[]> {
    const tag = tagKey !== undefined ? { tagKey } : {};
    const cuts = [from, ...prices.changesWithin(from, to), to];
    const pieces = await Promise.all(
      cuts.slice(1).map((b, i) => repo.aggregateInside({ tx: db, a: cuts[i]!, b, dimension, ...tag })),
    );
    return [...pieces.flat(), ...(await repo.usageOneByOne({ tx: db, from, to, cuts, ...tag }))];
  }

  /** The causes of the change from `prev` to [from, to): see cost-causes.ts. */
  async function causes(cur: { from: number; to: number }, prev: { from: number; to: number }) {
    const prices = createPriceLookup((await priceBook())?.book);
    const [now, before, trafficNow, trafficBefore] = await Promise.all([
      rowsOf(prices, 'cause', cur.from, cur.to),
      rowsOf(prices, 'cause', prev.from, prev.to),
      repo.deploymentTraffic({ tx: db, ...cur }),
      repo.deploymentTraffic({ tx: db, ...prev }),
    ]);
    const rows = [...now, ...before];
    const [parents, deploymentNames, datasetLabels] = await Promise.all([
      repo.parentRunFacts({ tx: db, runIds: uniq(rows.map((r) => r.parent_run_id ?? r.run_id)) }),
      repo.deploymentNames({ tx: db, ids: uniq(rows.map((r) => r.deployment_id)) }),
      repo.datasetLabels({
        tx: db,
        ids: uniq(rows.map((r) => (r.storage_of === 'dataset' ? r.dataset_version_id : null))),
      }),
    ]);
    return rankCauses({
      current: { rows: now, ...cur },
      previous: { rows: before, ...prev },
      prices,
      parents,
      deploymentNames,
      traffic: { current: trafficNow, previous: trafficBefore },
      datasetLabels,
    });
  }

  async function totals(
    by: CostBy,
    from: number,
    to: number,
  ): Promise<PeriodTotals & { version: number | null; currency: string }> {
    const pb = await priceBook();
    const prices = createPriceLookup(pb?.book);
    const tagKey = by.startsWith('tag:') ? by.slice(4) : undefined;
    const dimension: repo.GroupDimension = by.startsWith('tag:') ? 'tag' : (by as repo.GroupDimension);
    const rows = await rowsOf(prices, dimension, from, to, tagKey);
    const keyOf = await keyerFor(by, rows);
    const groups = new Map<string, GroupAcc>();
    const unpriced = new Set<string>();
    const perDeployment = by === 'deployment';
    let usageRows = 0;
    for (const r of rows) {
      const a = allocate(r, prices, from, to);
      for (const u of a.unpriced) unpriced.add(u);
      const rowCount = r.rows ?? 1;
      usageRows += rowCount;
      const keys = keyOf(r);
      // Integer split: the first keys take the remainder, so the parts add up to the whole.
      const n = keys.length;
      for (let i = 0; i < n; i++) {
        const k = keys[i]!;
        let g = groups.get(k);
        if (g === undefined) {
          g = { allocated: 0, idle: 0, usageRows: 0, cpuHours: 0, gpuHours: 0, storageGibMonths: 0 };
          groups.set(k, g);
        }
        g.allocated += n === 1 ? a.allocated : Math.floor(a.allocated / n) + (i < a.allocated % n ? 1 : 0);
        g.idle += n === 1 ? a.idle : Math.floor(a.idle / n) + (i < a.idle % n ? 1 : 0);
        g.usageRows += rowCount;
        g.cpuHours += a.cpuHours / n;
        g.gpuHours += a.gpuHours / n;
        g.storageGibMonths += a.storageGibMonths / n;
        // Only a report by deployment reads them (cost per 1,000 predictions): no Set per group else.
        if (perDeployment && r.deployment_id) {
          g.deploymentIds ??= new Set();
          g.deploymentIds.add(r.deployment_id);
        }
      }
    }
    const predictions = new Map<string, number>();
    if (by === 'deployment')
      for (const c of await served.countByVersion({ from, to }))
        predictions.set(c.deploymentId, (predictions.get(c.deploymentId) ?? 0) + c.n);
    return {
      groups,
      unpriced,
      usageRows,
      predictions,
      version: pb?.version ?? null,
      currency: prices.currency,
    };
  }

  function range(q: { from?: number | string | undefined; to?: number | string | undefined }) {
    const to = q.to === undefined ? clock.now() : parseInstant(q.to, 'to');
    const from = q.from === undefined ? to - 30 * DAY : parseInstant(q.from, 'from');
    if (from >= to) throw new ValidationError(`from: must be before to`, { field: 'from' });
    return { from, to };
  }

  function previousRange(compare: string, from: number, to: number) {
    if (compare === 'auto') return { from: from - (to - from), to: from };
    const m = /^(.+)\.\.(.+)$/.exec(compare);
    if (!m) throw new ValidationError(`compare: 'auto' or '<from>..<to>'`, { field: 'compare' });
    const r = { from: parseInstant(m[1]!, 'compare'), to: parseInstant(m[2]!, 'compare') };
    if (r.from >= r.to)
      throw new ValidationError('compare: its from must be before its to', { field: 'compare' });
    return r;
  }

  async function report(query: CostReportQuery): Promise<CostReport> {
    const q = parseOrThrow(costReportQuerySchema, query);
    const { from, to } = range(q);
    const cur = await totals(q.by, from, to);
    const keys = [...cur.groups.keys()];
    const accs = [...cur.groups.values()];
    const amounts = centsAddingUp(accs.map((g) => g.allocated + g.idle));
    const allocatedCents = centsAddingUp(accs.map((g) => g.allocated));
    const totalCents = amounts.reduce((s, c) => s + c, 0);
    // Rank indices, then build objects only for the groups shown: a report over 100,000 runs by run
    // need not build (or send) 90,000 objects for a reader who looks at the top of the table.
    const order = keys
      .map((_, i) => i)
      .sort((a, b) => amounts[b]! - amounts[a]! || byKey(keys[a]!, keys[b]!));
    const shown = q.limit === undefined ? order : order.slice(0, q.limit);
    const groups = shown.map((i) => {
      const key = keys[i]!;
      const g = accs[i]!;
      const amount = amounts[i]! / 100;
      const ids = g.deploymentIds;
      const served = ids ? [...ids].reduce((s, id) => s + (cur.predictions.get(id) ?? 0), 0) : 0;
      return {
        key,
        amount,
        allocated: allocatedCents[i]! / 100,
        // Idle is the rest of the group's cents, so allocated + idle = amount exactly.
        idle: (amounts[i]! - allocatedCents[i]!) / 100,
        share: totalCents ? amounts[i]! / totalCents : 0,
        usageRows: g.usageRows,
        cpuHours: g.cpuHours,
        gpuHours: g.gpuHours,
        ...(g.storageGibMonths ? { storageGibMonths: g.storageGibMonths } : {}),
        ...(q.by === 'deployment' && ids?.size
          ? {
              predictions: served,
              per1kPredictions: served ? ((g.allocated + g.idle) / 1e6 / served) * 1000 : null,
            }
          : {}),
      };
    });
    const omittedCents = order.slice(shown.length).reduce((s, i) => s + amounts[i]!, 0);
    const allocatedTotal = allocatedCents.reduce((s, c) => s + c, 0);
    const out: CostReport = {
      by: q.by,
      from: toIso(from),
      to: toIso(to),
      currency: cur.currency,
      priceBookVersion: cur.version,
      total: totalCents / 100,
      allocated: allocatedTotal / 100,
      idle: (totalCents - allocatedTotal) / 100,
      usageRows: cur.usageRows,
      groups,
      ...(shown.length < order.length
        ? { omitted: { groups: order.length - shown.length, amount: omittedCents / 100 } }
        : {}),
      unpriced: [...cur.unpriced].sort(),
    };
    const compare = q.compare ?? (q.causes ? 'auto' : undefined);
    if (compare) {
      const prev = previousRange(compare, from, to);
      const before = await totals(q.by, prev.from, prev.to);
      const pKeys = [...before.groups.keys()];
      const pCents = centsAddingUp(
        pKeys.map((k) => before.groups.get(k)!.allocated + before.groups.get(k)!.idle),
      );
      const prevBy = new Map(pKeys.map((k, i) => [k, pCents[i]!]));
      const curBy = new Map(keys.map((k, i) => [k, amounts[i]!]));
      const prevTotal = pCents.reduce((s, c) => s + c, 0);
      const delta = totalCents - prevTotal;
      const contributors = uniq([...keys, ...pKeys])
        .map((key) => {
          const c = curBy.get(key) ?? 0;
          const p = prevBy.get(key) ?? 0;
          return {
            key,
            current: c / 100,
            previous: p / 100,
            delta: (c - p) / 100,
            shareOfChange: delta ? (c - p) / delta : null,
          };
        })
        .filter((c) => c.delta !== 0)
        // What drove the change: the largest moves first, in either direction.
        .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || byKey(a.key, b.key));
      out.compare = {
        from: toIso(prev.from),
        to: toIso(prev.to),
        total: prevTotal / 100,
        delta: delta / 100,
        ratio: prevTotal ? totalCents / prevTotal : null,
        contributors: q.limit === undefined ? contributors : contributors.slice(0, q.limit),
        ...(q.limit !== undefined && contributors.length > q.limit
          ? { omittedContributors: contributors.length - q.limit }
          : {}),
      };
      if (q.causes) {
        const ranked = await causes({ from, to }, prev);
        out.causes = q.limit === undefined ? ranked : ranked.slice(0, q.limit);
        if (q.limit !== undefined && ranked.length > q.limit) out.omittedCauses = ranked.length - q.limit;
      }
    }
    return out;
  }

  return { report };
}

export type CostReportService = ReturnType<typeof createCostReportService>;

/** Code-unit order: stable, and far cheaper than localeCompare over 100,000 groups. */
function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function uniq<T>(xs: (T | null | undefined)[]): T[] {
  return [...new Set(xs.filter((x): x is T => x !== null && x !== undefined))];
}
