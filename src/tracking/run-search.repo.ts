import {
  type Expression,
  type ExpressionBuilder,
  expressionBuilder,
  type SelectQueryBuilder,
  type SqlBool,
  sql,
} from 'kysely';
import { assertNever, ValidationError } from '../core/errors.js';
import {
  type Database,
  type Dialect,
  dialectOf,
  type Executor,
  type ParamTable,
  type RunTable,
} from '../store/index.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import type { RunAttribute, RunFilterClause, RunOrderTerm, StringComparator } from './run-filter.js';

export type RunViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

/** MLflow's SEARCH_MAX_RESULTS_DEFAULT and SEARCH_MAX_RESULTS_THRESHOLD. */
export const SEARCH_RUNS_DEFAULT_MAX_RESULTS = 1000;
export const SEARCH_RUNS_MAX_RESULTS = 50_000;

export interface SearchRunsInput {
  tx: Executor;
  experimentIds: number[];
  filter: RunFilterClause[];
  orderBy: RunOrderTerm[];
  runViewType: RunViewType;
  /** 1..50000, default 1000. */
  maxResults?: number;
  /** A next_page_token from an earlier call with the same arguments; '' means the first page. */
  pageToken?: string;
}

export interface SearchRunsPage {
  runIds: string[];
  nextPageToken?: string;
}

type RunsEb = ExpressionBuilder<Database & { r: RunTable }, 'r'>;

// The run name lives in runs.name; MLflow also exposes it as the tag mlflow.runName and searches
// attributes.run_name through that tag, so both spellings read the same column here.
const RUN_NAME_TAG = 'mlflow.runName';

const ATTRIBUTE_COLUMNS = {
  run_id: 'r.id',
  run_name: 'r.name',
  user_id: 'r.user_id',
  status: 'r.status',
  artifact_uri: 'r.artifact_uri',
  start_time: 'r.start_time',
  end_time: 'r.end_time',
} as const satisfies Record<RunAttribute, `r.${keyof RunTable}`>;

type KeyValueRows = SelectQueryBuilder<Database & { r: RunTable; kv: ParamTable }, 'r' | 'kv', object>;

/** The run's row of one param or tag key (params and run_tags have the same shape). */
function keyValueRow(eb: RunsEb, kind: 'param' | 'tag', key: string): KeyValueRows {
  const rows: KeyValueRows =
    kind === 'param' ? eb.selectFrom('params as kv') : eb.selectFrom('run_tags as kv');
  return rows.whereRef('kv.run_id', '=', 'r.id').where('kv.key', '=', key);
}

/** `column <comparator> value` on text, case-sensitive except for ILIKE, the same on both backends. */
function compareText(
  column: Expression<string>,
  comparator: StringComparator,
  value: string,
  dialect: Dialect,
) {
  switch (comparator) {
    case '=':
      return sql<SqlBool>`${column} = ${value}`;
    case '!=':
      return sql<SqlBool>`${column} <> ${value}`;
    case 'LIKE':
      return dialect.like(column, value);
    case 'ILIKE':
      // SQLite's lower() and LIKE fold ASCII letters only; PostgreSQL's ILIKE folds all of Unicode.
      return dialect.ilike(column, value);
    default:
      return assertNever(comparator);
  }
}

function clauseCondition(eb: RunsEb, clause: RunFilterClause, dialect: Dialect): Expression<SqlBool> {
  switch (clause.kind) {
    case 'metric': {
      // NaN is stored as value null with is_nan = 1: like IEEE NaN it fails every comparison but `!=`.
      const { key, comparator, value } = clause;
      return eb.exists(
        eb
          .selectFrom('latest_metrics as lm')
          .select(sql.lit(1).as('one'))
          .whereRef('lm.run_id', '=', 'r.id')
          .where('lm.key', '=', key)
          .where((m) =>
            comparator === '!='
              ? m.or([m('lm.value', '<>', value), m('lm.is_nan', '=', 1)])
              : m('lm.value', comparator, value),
          ),
      );
    }
    case 'param':
    case 'tag': {
      if (clause.kind === 'tag' && clause.key === RUN_NAME_TAG) {
        return compareText(sql.ref<string>('r.name'), clause.comparator, clause.value, dialect);
      }
      return eb.exists(
        keyValueRow(eb, clause.kind, clause.key)
          .select(sql.lit(1).as('one'))
          .where(compareText(sql.ref<string>('kv.value'), clause.comparator, clause.value, dialect)),
      );
    }
    case 'attribute':
      return compareText(
        sql.ref<string>(ATTRIBUTE_COLUMNS[clause.key]),
        clause.comparator,
        clause.value,
        dialect,
      );
    case 'numeric_attribute':
      // The cast keeps PostgreSQL from binding a fractional value as bigint (start_time > 1.5).
      return eb(
        ATTRIBUTE_COLUMNS[clause.key],
        clause.comparator,
        sql<number>`cast(${clause.value} as double precision)`,
      );
    case 'run_id_list':
      return eb('r.id', clause.comparator === 'IN' ? 'in' : 'not in', clause.values);
    default:
      return assertNever(clause);
  }
}

type OrderKeys = { rank?: Expression<unknown>; value: Expression<unknown> };
type MetricClause = Extract<RunFilterClause, { kind: 'metric' }>;

/** Sort keys of one order_by term: first a rank that keeps missing values last, then the value. */
function orderKeys(eb: RunsEb, term: RunOrderTerm, dialect: Dialect): OrderKeys {
  const text = (e: Expression<unknown>) => dialect.byCodePoint(e);
  switch (term.kind) {
    case 'metric': {
      const latest = eb
        .selectFrom('latest_metrics as lm')
        .whereRef('lm.run_id', '=', 'r.id')
        .where('lm.key', '=', term.key);
      // MLflow (SqlAlchemyStore._get_orderby_clauses) ranks numbers 0, NaN 1, missing 2, in both directions.
      const rank = sql`coalesce(${latest.select(sql<number>`case when lm.is_nan = 1 then 1 else 0 end`.as('rank'))}, 2)`;
      return { rank, value: latest.select('lm.value') };
    }
    case 'param':
    case 'tag': {
      if (term.kind === 'tag' && term.key === RUN_NAME_TAG) return { value: text(eb.ref('r.name')) };
      const value = keyValueRow(eb, term.kind, term.key).select('kv.value');
      return { rank: sql`case when ${value} is null then 1 else 0 end`, value: text(value) };
    }
    case 'attribute': {
      const column = eb.ref(ATTRIBUTE_COLUMNS[term.key]);
      if (term.key === 'end_time')
        return { rank: sql`case when ${column} is null then 1 else 0 end`, value: column };
      return { value: term.key === 'start_time' ? column : text(column) };
    }
    default:
      return assertNever(term);
  }
}

/**
 * The first metric order term is read through one join of latest_metrics as `o` rather than two
 * correlated subqueries (rank and value) per candidate run. `clauses` are the filter's metric clauses
 * on the same key that only a number satisfies (= < <= > >=: NaN is stored as value null and a missing
 * metric has no row). They move into an inner join, so every joined run has a number: the rank is
 * constant and dropped, and ORDER BY o.value can walk the latest_metrics (key, value) index instead of
 * sorting every match. With no such clause it is a LEFT JOIN that keeps the rank, which still saves a
 * lookup per run (measured faster than the subqueries on both backends).
 */
interface OrderMetricJoin {
  term: RunOrderTerm;
  clauses: MetricClause[];
  /** 'cross': an inner join that SQLite must drive from runs (it keeps CROSS JOIN's table order). */
  how: 'left' | 'inner' | 'cross';
}

function joinOrderMetric<O>(
  qb: SelectQueryBuilder<Database & { r: RunTable }, 'r', O>,
  { term, clauses, how }: OrderMetricJoin,
) {
  if (how === 'left') {
    return qb.leftJoin('latest_metrics as o', (j) =>
      j.onRef('o.run_id', '=', 'r.id').on('o.key', '=', term.key),
    );
  }
  if (how === 'cross') {
    let joined = qb
      .crossJoin('latest_metrics as o')
      .whereRef('o.run_id', '=', 'r.id')
      .where('o.key', '=', term.key);
    for (const c of clauses) joined = joined.where('o.value', c.comparator, c.value);
    return joined;
  }
  return qb.innerJoin('latest_metrics as o', (j) => {
    let on = j.onRef('o.run_id', '=', 'r.id').on('o.key', '=', term.key);
    for (const c of clauses) on = on.on('o.value', c.comparator, c.value);
    return on;
  });
}

/** orderKeys of the joined metric term: the same ranks (numbers 0, NaN 1, missing 2) read from `o`. */
function joinedOrderKeys({ how }: OrderMetricJoin): OrderKeys {
  const value = sql.ref('o.value');
  if (how !== 'left') return { value };
  return { rank: sql`case when o.run_id is null then 2 when o.is_nan = 1 then 1 else 0 end`, value };
}

/**
 * SQLite only, whose planner has no statistics: it always walks the (key, value) index in order, which
 * is fast when the first entries yield the page, but for a small experiment among many that log the
 * same key it reads the whole index. So drive from runs when the experiments have under 10x the rows
 * the page needs; otherwise look that far ahead in the index, and use it if those entries hold the page
 * or are all of the key's matching entries. Either way this costs at most about what driving from runs
 * would. PostgreSQL's planner makes this choice itself, from its statistics.
 */
async function indexFindsPage(
  tx: Executor,
  term: RunOrderTerm,
  clauses: readonly MetricClause[],
  where: Expression<SqlBool>,
  experimentIds: number[],
  needed: number,
): Promise<boolean> {
  const ahead = needed * 10;
  const count = (rows: Expression<unknown>) => sql<number>`(select count(*) from ${rows} as c)`;
  const runs = tx
    .selectFrom('runs as r')
    .select(sql.lit(1).as('one'))
    .where('r.experiment_id', 'in', experimentIds);
  let entries = tx.selectFrom('latest_metrics as lm').where('lm.key', '=', term.key);
  for (const c of clauses) entries = entries.where('lm.value', c.comparator, c.value);
  const top = entries
    .select('lm.run_id')
    .orderBy('lm.value', term.ascending ? 'asc' : 'desc')
    .limit(ahead);
  const hits = tx
    .selectFrom(top.as('o'))
    .crossJoin('runs as r')
    .select(sql.lit(1).as('one'))
    .whereRef('r.id', '=', 'o.run_id')
    .where(where)
    .limit(needed);
  // CASE evaluates its scalar subqueries only as far as it gets, cheapest first.
  const row = await tx
    .selectNoFrom(
      sql<number>`case when ${count(runs.limit(ahead))} < ${ahead} then 0
        when ${count(hits)} >= ${needed} then 1
        when ${count(entries.select(sql.lit(1).as('one')).limit(ahead))} < ${ahead} then 1
        else 0 end`.as('use_index'),
    )
    .executeTakeFirstOrThrow();
  return Number(row.use_index) === 1;
}

/** Conditions on the run itself: experiments, lifecycle stage and the clauses not in the join. */
function runConditions(
  eb: RunsEb,
  input: SearchRunsInput,
  joined: readonly RunFilterClause[],
  dialect: Dialect,
): Expression<SqlBool> {
  const conditions: Expression<SqlBool>[] = [eb('r.experiment_id', 'in', input.experimentIds)];
  switch (input.runViewType) {
    case 'ACTIVE_ONLY':
      conditions.push(eb('r.lifecycle_stage', '=', 'active'));
      break;
    case 'DELETED_ONLY':
      conditions.push(eb('r.lifecycle_stage', '=', 'deleted'));
      break;
    case 'ALL':
      break;
    default:
      assertNever(input.runViewType);
  }
  for (const clause of input.filter)
    if (!joined.includes(clause)) conditions.push(clauseCondition(eb, clause, dialect));
  return eb.and(conditions);
}

function checkMaxResults(maxResults: number): void {
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > SEARCH_RUNS_MAX_RESULTS) {
    throw new ValidationError(
      `max_results: must be an integer from 1 to ${SEARCH_RUNS_MAX_RESULTS}, got ${String(maxResults)}`,
      { field: 'max_results' },
    );
  }
}

/**
 * Ids of the runs of `experimentIds` that match every clause, in MLflow's order: the order_by terms
 * (missing values last), then start_time DESC, then run id. Metric clauses read each run's latest value.
 * Pages by offset, as MLflow does; a token is only valid for the same filter and order.
 */
export async function searchRuns(input: SearchRunsInput): Promise<SearchRunsPage> {
  const { tx, experimentIds, filter, orderBy } = input;
  const maxResults = input.maxResults ?? SEARCH_RUNS_DEFAULT_MAX_RESULTS;
  checkMaxResults(maxResults);
  const offset = decodePageToken(input.pageToken, 'page_token');
  if (experimentIds.length === 0) return { runIds: [] };
  const dialect = dialectOf(tx);

  const eb: RunsEb = expressionBuilder<Database & { r: RunTable }, 'r'>();

  const term = orderBy.find((t) => t.kind === 'metric');
  const clauses = filter.filter(
    (c): c is MetricClause => c.kind === 'metric' && c.key === term?.key && c.comparator !== '!=',
  );
  const where = runConditions(eb, input, clauses, dialect);
  let join: OrderMetricJoin | undefined;
  if (term) {
    let how: OrderMetricJoin['how'] = clauses.length > 0 ? 'inner' : 'left';
    // The query reads offset + max_results + 1 rows (see below).
    const needed = offset + maxResults + 1;
    if (
      how === 'inner' &&
      dialect.name === 'sqlite' &&
      !(await indexFindsPage(tx, term, clauses, where, experimentIds, needed))
    )
      how = 'cross';
    join = { term, clauses, how };
  }

  let query = tx.selectFrom('runs as r').select('r.id').where(where);
  if (join) query = query.$if(true, (qb) => joinOrderMetric(qb, join));
  for (const term of orderBy) {
    const { rank, value } = term === join?.term ? joinedOrderKeys(join) : orderKeys(eb, term, dialect);
    if (rank) query = query.orderBy(rank);
    query = query.orderBy(value, term.ascending ? 'asc' : 'desc');
  }
  if (!orderBy.some((t) => t.kind === 'attribute' && t.key === 'start_time'))
    query = query.orderBy('r.start_time', 'desc');
  query = query.orderBy(dialect.byCodePoint(eb.ref('r.id')));

  // One row past the page tells whether another page exists, so the last page carries no token.
  const rows = await query
    .limit(maxResults + 1)
    .offset(offset)
    .execute();
  const runIds = rows.slice(0, maxResults).map((row) => row.id);
  return rows.length > maxResults
    ? { runIds, nextPageToken: encodePageToken(offset + maxResults) }
    : { runIds };
}
