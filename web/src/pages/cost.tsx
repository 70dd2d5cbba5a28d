import { type FormEvent, useState } from 'react';
import type { CostReport } from '../../../src/cost/attribution/cost-report.schema.js';
import type { Budget } from '../../../src/cost/budgets/budget.schema.js';
import { api } from '../api';
import { Badge, Show } from '../components/status';
import { num, when } from '../format';
import { navigate, useLocation } from '../router';
import { useAsync } from '../use-async';

/*
 * /cost?from=&to=&by=: the cost report of a period (default: the last 30 days) grouped by experiment,
 * model, deployment or run, compared with the period of equal length before it, the causes of the
 * change ranked, the budgets with their spend, and what the idle reaper did and saved in the period.
 */

const DAY = 86_400_000;
const BYS = ['experiment', 'model', 'deployment', 'run'] as const;

const money = (v: number, currency: string) => `${v.toFixed(2)} ${currency}`;
const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? '-' : `${(100 * v).toFixed(1)}%`;
/** A date input's value (YYYY-MM-DD) or an ISO time, as the API takes it. */
const instant = (v: string) => (/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00.000Z` : v);

function Groups({ report }: { report: CostReport }) {
  if (report.groups.length === 0) return <p className="empty">No usage recorded in the period.</p>;
  const previous = new Map((report.compare?.contributors ?? []).map((c) => [c.key, c]));
  return (
    <table data-testid="cost-groups">
      <thead>
        <tr>
          <th>{report.by}</th>
          <th>Cost</th>
          <th>Share</th>
          <th>Idle</th>
          <th>GPU h</th>
          <th>CPU h</th>
          <th>Previous period</th>
          <th>Change</th>
        </tr>
      </thead>
      <tbody>
        {report.groups.map((g) => {
          const c = previous.get(g.key);
          return (
            <tr key={g.key}>
              <td className="name">{g.key}</td>
              <td className="num">{money(g.amount, report.currency)}</td>
              <td className="num">{pct(g.share)}</td>
              <td className="num">{num(g.idle)}</td>
              <td className="num">{num(g.gpuHours)}</td>
              <td className="num">{num(g.cpuHours)}</td>
              <td className="num">{c ? num(c.previous) : '-'}</td>
              <td className="num">{c ? `${c.delta >= 0 ? '+' : ''}${num(c.delta)}` : '-'}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Causes({ report }: { report: CostReport }) {
  const causes = report.causes ?? [];
  if (causes.length === 0) return <p className="empty">No change to explain.</p>;
  return (
    <ol className="causes" data-testid="cost-causes">
      {causes.map((c) => (
        <li key={`${c.entity}:${c.key}`} data-entity={c.entity} data-kind={c.kind}>
          <strong>{c.label}</strong>{' '}
          <span className="num">
            {c.delta >= 0 ? '+' : ''}
            {money(c.delta, report.currency)}
          </span>{' '}
          <span className="muted">
            ({pct(c.shareOfChange)} of the change; {num(c.previous)} → {num(c.current)})
          </span>
          <div>
            <Badge value={c.kind} /> {c.reason}
          </div>
        </li>
      ))}
    </ol>
  );
}

function budgetState(b: Budget): string {
  if (!b.current) return 'inactive';
  if (b.current.exhausted) return 'exhausted';
  if (b.current.softReached) return 'soft';
  return 'ok';
}

function Budgets() {
  const budgets = useAsync(() => api().budgets.list(), []);
  return (
    <Show value={budgets} what="budgets">
      {(list) =>
        list.length === 0 ? (
          <p className="empty">No budgets (sextant budgets create).</p>
        ) : (
          <table data-testid="budgets-table">
            <thead>
              <tr>
                <th>Budget</th>
                <th>Scope</th>
                <th>Period</th>
                <th>Amount</th>
                <th>Spent</th>
                <th>Forecast</th>
                <th>State</th>
                <th>Checked</th>
              </tr>
            </thead>
            <tbody>
              {list.map((b) => (
                <tr key={b.id} data-budget={b.name}>
                  <td className="name">{b.name}</td>
                  <td>
                    {b.scope.kind} {b.scope.value}
                  </td>
                  <td>
                    {b.period}
                    {b.current ? (
                      <span className="muted">
                        {' '}
                        {when(b.current.from)} to {when(b.current.to)}
                      </span>
                    ) : null}
                  </td>
                  <td className="num">{money(b.amount, b.currency)}</td>
                  <td className="num">{num(b.current?.spent)}</td>
                  <td className="num">{num(b.current?.forecast)}</td>
                  <td>
                    <Badge value={budgetState(b)} />
                  </td>
                  <td>{when(b.current?.checkedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Show>
  );
}

function Reaper({ from, to }: { from: string; to: string }) {
  const data = useAsync(async () => {
    const [savings, actions] = await Promise.all([
      api().reaper.savings({ from, to }),
      api().reaper.actions({ from, to }),
    ]);
    return { savings, actions };
  }, [from, to]);
  return (
    <Show value={data} what="the reaper's actions">
      {({ savings: s, actions }) => (
        <>
          <p data-testid="reaper-savings">
            Deployments unloaded {s.deployments.unloads} time(s), woken {s.deployments.wakes} (
            {num(s.deployments.hoursSaved)} h saved
            {s.deployments.coldStartMs.mean !== null
              ? `, cold start mean ${num(s.deployments.coldStartMs.mean)} ms`
              : ''}
            ); workers exited {s.workers.exits} ({num(s.workers.hoursSaved)} h); GPUs flagged idle{' '}
            {s.gpu.flagged}, stopped {s.gpu.stopped}. Saved: {money(s.amountSaved, s.currency)}.
          </p>
          {actions.length > 0 ? (
            <table data-testid="reaper-actions">
              <thead>
                <tr>
                  <th>At</th>
                  <th>Action</th>
                  <th>Target</th>
                  <th>Idle (ms)</th>
                  <th>Cold start (ms)</th>
                </tr>
              </thead>
              <tbody>
                {actions.slice(0, 100).map((a) => (
                  <tr key={a.id}>
                    <td>{when(a.at)}</td>
                    <td>{a.kind}</td>
                    <td>{a.target}</td>
                    <td className="num">{num(a.idleMs)}</td>
                    <td className="num">{num(a.coldStartMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      )}
    </Show>
  );
}

/** /cost */
export function CostPage() {
  const { query } = useLocation();
  const [now] = useState(() => new Date());
  const to = query.get('to') ?? now.toISOString();
  const from = query.get('from') ?? new Date(Date.parse(instant(to)) - 30 * DAY).toISOString();
  const byParam = query.get('by') ?? 'experiment';
  const by = (BYS as readonly string[]).includes(byParam) ? byParam : 'experiment';
  const [draft, setDraft] = useState({ from: from.slice(0, 10), to: to.slice(0, 10), by });
  const report = useAsync(
    () => api().cost.report({ by, from: instant(from), to: instant(to), causes: true }),
    [by, from, to],
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const q = new URLSearchParams({ from: draft.from, to: draft.to, by: draft.by });
    navigate(`/cost?${q}`, { replace: true });
  };
  return (
    <section>
      <h1>Cost</h1>
      <form className="toolbar" onSubmit={submit}>
        <label>
          From{' '}
          <input
            type="date"
            value={draft.from}
            onChange={(e) => setDraft({ ...draft, from: e.target.value })}
          />
        </label>
        <label>
          To{' '}
          <input type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
        </label>
        <label>
          By{' '}
          <select value={draft.by} onChange={(e) => setDraft({ ...draft, by: e.target.value })}>
            {BYS.map((b) => (
              <option key={b} value={b}>
                {b}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
      </form>
      <Show value={report} what="the cost report">
        {(r) => (
          <>
            <p data-testid="cost-total">
              <strong>{money(r.total, r.currency)}</strong> from {when(r.from)} to {when(r.to)}
              {r.compare ? (
                <>
                  {' '}
                  against {money(r.compare.total, r.currency)} the period before (
                  {r.compare.delta >= 0 ? '+' : ''}
                  {num(r.compare.delta)}
                  {r.compare.ratio !== null ? `, x${r.compare.ratio.toFixed(2)}` : ''})
                </>
              ) : null}
              . Idle capacity: {num(r.idle)}.
              {r.priceBookVersion !== null ? ` Price book v${r.priceBookVersion}.` : ' No price book set.'}
            </p>
            {r.unpriced.length > 0 ? (
              <p className="muted">Unpriced resources: {r.unpriced.join(', ')}.</p>
            ) : null}
            <h2>By {r.by}</h2>
            <Groups report={r} />
            <h2>Why it changed</h2>
            <Causes report={r} />
          </>
        )}
      </Show>
      <h2>Budgets</h2>
      <Budgets />
      <h2>Idle reaper</h2>
      <Reaper from={instant(from)} to={instant(to)} />
    </section>
  );
}
