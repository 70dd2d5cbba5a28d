import { type FormEvent, useEffect, useMemo, useState } from 'react';
import type { Run } from '../../../src/tracking/tracking.schema.js';
import { api } from '../api';
import { ErrorBox, Loading, Show } from '../components/status';
import { Link, navigate, seg, useLocation } from '../router';
import { useAsync } from '../use-async';
import { type Column, columnId, parseColumn, RunsTable } from './runs-table';

// A small first page puts rows on screen quickly; the rest stream in large pages.
const FIRST_PAGE = 100;
const PAGE = 1000;

/** All runs matching the query, page by page: the first page shows at once, the rest stream in. */
function useRunSearch(experimentId: string, filter: string, orderBy: string | undefined) {
  const [state, setState] = useState<{ runs: Run[]; done: boolean; error?: Error }>({
    runs: [],
    done: false,
  });
  useEffect(() => {
    let live = true;
    setState({ runs: [], done: false });
    (async () => {
      let pageToken: string | undefined;
      const all: Run[] = [];
      do {
        const page = await api().runs.search({
          experimentIds: [experimentId],
          ...(filter ? { filter } : {}),
          ...(orderBy ? { orderBy: [orderBy] } : {}),
          maxResults: all.length === 0 ? FIRST_PAGE : PAGE,
          ...(pageToken ? { pageToken } : {}),
        });
        if (!live) return;
        all.push(...page.runs);
        pageToken = page.nextPageToken;
        setState({ runs: [...all], done: !pageToken });
      } while (pageToken);
    })().catch((error: Error) => live && setState((s) => ({ ...s, done: true, error })));
    return () => {
      live = false;
    };
  }, [experimentId, filter, orderBy]);
  return state;
}

/** An experiment's runs: MLflow filter, server-side sort, chosen columns, selection to compare. */
export function RunsPage({ experimentId }: { experimentId: string }) {
  const { query } = useLocation();
  const filter = query.get('filter') ?? '';
  const order = query.get('order') ?? undefined;
  const experiment = useAsync(() => api().experiments.get(experimentId), [experimentId]);
  const search = useRunSearch(experimentId, filter, order);
  const [draft, setDraft] = useState(filter);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  useEffect(() => setDraft(filter), [filter]);

  const available = useMemo(() => {
    const params = new Set<string>();
    const metrics = new Set<string>();
    for (const r of search.runs.slice(0, 2000)) {
      for (const k of Object.keys(r.params)) params.add(k);
      for (const m of r.metrics) metrics.add(m.key);
    }
    return {
      params: [...params].sort(),
      metrics: [...metrics].sort(),
    };
  }, [search.runs]);

  const chosen = query.get('cols');
  const columns: Column[] = chosen
    ? chosen
        .split(',')
        .map(parseColumn)
        .filter((c): c is Column => c !== undefined)
    : [
        { kind: 'attr', key: 'status' },
        { kind: 'attr', key: 'start' },
        ...available.metrics.slice(0, 5).map((key) => ({ kind: 'metric' as const, key })),
        ...available.params.slice(0, 5).map((key) => ({ kind: 'param' as const, key })),
      ];

  const setQuery = (patch: Record<string, string | undefined>) => {
    const next = new URLSearchParams(query);
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || v === '') next.delete(k);
      else next.set(k, v);
    }
    const qs = next.toString();
    navigate(`/experiments/${seg(experimentId)}${qs ? `?${qs}` : ''}`, { replace: true });
  };
  const orderParsed = order
    ? { term: order.replace(/\s+(ASC|DESC)$/i, ''), desc: /\sDESC$/i.test(order) }
    : undefined;
  const onSort = (term: string) => {
    const desc = orderParsed?.term === term ? !orderParsed.desc : true;
    setQuery({ order: `${term} ${desc ? 'DESC' : 'ASC'}` });
  };
  const toggleColumn = (c: Column) => {
    const id = columnId(c);
    const ids = columns.map(columnId);
    setQuery({ cols: (ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id]).join(',') });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQuery({ filter: draft.trim() });
  };

  return (
    <section>
      <Show value={experiment} what="the experiment">
        {(x) => (
          <h1>
            <span className="muted">Experiment</span> {x.name}
          </h1>
        )}
      </Show>
      <form className="toolbar" onSubmit={submit}>
        <label htmlFor="run-filter">Filter</label>
        <input
          id="run-filter"
          className="filter"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          placeholder="metrics.val_accuracy > 0.8 and params.lr = '0.05'"
          spellCheck={false}
        />
        <button type="submit">Search</button>
        <details className="columns">
          <summary>Columns</summary>
          <fieldset>
            <legend>Attributes</legend>
            {(['status', 'start', 'user'] as const).map((key) => (
              <label key={key}>
                <input
                  type="checkbox"
                  checked={columns.some((c) => c.kind === 'attr' && c.key === key)}
                  onChange={() => toggleColumn({ kind: 'attr', key })}
                />
                {key}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Metrics</legend>
            {available.metrics.map((key) => (
              <label key={key}>
                <input
                  type="checkbox"
                  checked={columns.some((c) => c.kind === 'metric' && c.key === key)}
                  onChange={() => toggleColumn({ kind: 'metric', key })}
                />
                {key}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Params</legend>
            {available.params.map((key) => (
              <label key={key}>
                <input
                  type="checkbox"
                  checked={columns.some((c) => c.kind === 'param' && c.key === key)}
                  onChange={() => toggleColumn({ kind: 'param', key })}
                />
                {key}
              </label>
            ))}
          </fieldset>
        </details>
        {selected.size >= 2 ? (
          <Link className="button" to={`/compare?runs=${[...selected].map(seg).join(',')}`}>
            Compare {selected.size} runs
          </Link>
        ) : (
          <span className="muted">select 2+ runs to compare</span>
        )}
      </form>
      <ErrorBox error={search.error} title="The search failed" />
      <p className="muted" data-testid="run-count">
        {search.runs.length} runs{search.done ? '' : ' (loading more…)'}
      </p>
      {search.runs.length === 0 && !search.done ? <Loading what="runs" /> : null}
      {search.runs.length === 0 && search.done && !search.error ? (
        <p className="empty">No runs match{filter ? ' this filter' : ''}.</p>
      ) : null}
      {search.runs.length > 0 ? (
        <RunsTable
          runs={search.runs}
          columns={columns}
          order={orderParsed}
          onSort={onSort}
          selected={selected}
          onToggle={(id) =>
            setSelected((s) => {
              const next = new Set(s);
              if (next.has(id)) next.delete(id);
              else next.add(id);
              return next;
            })
          }
        />
      ) : null}
    </section>
  );
}

/** Every experiment, newest first. */
export function ExperimentsPage() {
  const list = useAsync(() => api().experiments.list({ maxResults: 1000 }), []);
  return (
    <section>
      <h1>Experiments</h1>
      <Show value={list} what="experiments">
        {({ experiments }) =>
          experiments.length === 0 ? (
            <p className="empty">No experiments yet. Log a run with the CLI or an MLflow client.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Id</th>
                  <th>Created</th>
                  <th>Tags</th>
                </tr>
              </thead>
              <tbody>
                {experiments.map((x) => (
                  <tr key={x.id}>
                    <td className="name">
                      <Link to={`/experiments/${seg(x.id)}`}>{x.name}</Link>
                    </td>
                    <td>{x.id}</td>
                    <td>{x.createdAt.replace('T', ' ').slice(0, 19)}</td>
                    <td className="tags">
                      {Object.entries(x.tags)
                        .filter(([k]) => !k.startsWith('mlflow.'))
                        .map(([k, v]) => `${k}=${v}`)
                        .join(', ')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </section>
  );
}
