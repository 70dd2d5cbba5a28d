import { type FormEvent, useState } from 'react';
import type { DeploymentStats, Prediction } from '../../../src/serving/serving.schema.js';
import { api } from '../api';
import { LineChart } from '../components/line-chart';
import { Badge, Facts, Show } from '../components/status';
import { num, when } from '../format';
import { Link, navigate, seg, useLocation } from '../router';
import { useAsync } from '../use-async';

const RECENT = 1000;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Every deployment: what it serves and its challenger. */
export function DeploymentsPage() {
  const list = useAsync(() => api().serving.deployments.list(), []);
  return (
    <section>
      <h1>Deployments</h1>
      <Show value={list} what="deployments">
        {(deployments) =>
          deployments.length === 0 ? (
            <p className="empty">No deployments (sextant serve creates one).</p>
          ) : (
            <table data-testid="deployments-table">
              <thead>
                <tr>
                  <th>Deployment</th>
                  <th>Champion</th>
                  <th>Challenger</th>
                  <th>Ledger</th>
                  <th>Updated</th>
                </tr>
              </thead>
              <tbody>
                {deployments.map((d) => (
                  <tr key={d.id}>
                    <td className="name">
                      <Link to={`/deployments/${seg(d.name)}`}>{d.name}</Link>
                    </td>
                    <td>
                      <Link to={`/models/${seg(d.model)}`}>{d.model}</Link>@{d.ref}
                    </td>
                    <td>
                      {d.challenger
                        ? `${d.challenger.ref} (${d.challenger.mode}${d.challenger.percent !== null ? ` ${d.challenger.percent}%` : ''})`
                        : '-'}
                    </td>
                    <td>{d.ledgerMode}</td>
                    <td>{when(d.updatedAt)}</td>
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

function Traffic({ predictions }: { predictions: Prediction[] }) {
  const byRole = new Map<string, Prediction[]>();
  for (const p of predictions)
    byRole.set(`${p.role} v${p.version}`, [...(byRole.get(`${p.role} v${p.version}`) ?? []), p]);
  const shadowErrors = predictions.filter((p) => p.shadow?.error).length;
  const ordered = [...predictions].reverse();
  return (
    <>
      <table data-testid="traffic">
        <caption>The last {predictions.length} logged predictions</caption>
        <thead>
          <tr>
            <th>Served by</th>
            <th>Predictions</th>
            <th>Share</th>
            <th>Latency p50 (ms)</th>
            <th>p95</th>
            <th>max</th>
            <th>Labelled</th>
          </tr>
        </thead>
        <tbody>
          {[...byRole.entries()].map(([role, list]) => {
            const lat = list.map((p) => p.latencyMs).sort((a, b) => a - b);
            return (
              <tr key={role}>
                <td>{role}</td>
                <td className="num">{list.length}</td>
                <td className="num">{((100 * list.length) / predictions.length).toFixed(1)}%</td>
                <td className="num">{num(quantile(lat, 0.5))}</td>
                <td className="num">{num(quantile(lat, 0.95))}</td>
                <td className="num">{num(lat.at(-1))}</td>
                <td className="num">{list.filter((p) => p.label).length}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="muted">Shadow errors: {shadowErrors}.</p>
      {ordered.length > 1 ? (
        <LineChart
          title="latency (ms) per prediction"
          xLabel="prediction #"
          series={[
            { label: 'latency ms', xs: ordered.map((_, i) => i), ys: ordered.map((p) => p.latencyMs) },
          ]}
        />
      ) : null}
    </>
  );
}

/** Failed predict requests over every process that served the deployment, with the commonest codes. */
function Errors({ stats }: { stats: DeploymentStats }) {
  if (stats.runtimes === 0) return <p className="empty">No serving process has reported its requests yet.</p>;
  const rate = stats.requests > 0 ? (100 * stats.errors) / stats.requests : 0;
  const top = Object.entries(stats.errorsByCode)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  return (
    <div data-testid="errors">
      <p>
        Errors: <strong>{stats.errors}</strong> of {stats.requests} requests ({rate.toFixed(1)}%)
        {top.length > 0 ? ` - ${top.map(([code, n]) => `${code} ${n}`).join(', ')}` : ''}
      </p>
      <p className="muted">
        Since {when(stats.since)}, over {stats.runtimes} serving process
        {stats.runtimes === 1 ? '' : 'es'}, as of their last heartbeats.
      </p>
    </div>
  );
}

/** Logged predictions, each linking to its page (trace and explanation). */
function PredictionsTable({ predictions }: { predictions: Prediction[] }) {
  return (
    <table data-testid="predictions-table">
      <thead>
        <tr>
          <th>Prediction</th>
          <th>Served</th>
          <th>Model</th>
          <th>Output</th>
          <th>Latency (ms)</th>
          <th>Label</th>
        </tr>
      </thead>
      <tbody>
        {predictions.map((p) => (
          <tr key={p.id}>
            <td>
              <Link to={`/predictions/${seg(p.id)}`}>{p.id}</Link>
            </td>
            <td>{when(p.servedAt)}</td>
            <td>
              {p.model}@{p.version} <span className="muted">{p.role}</span>
            </td>
            <td>{p.outputs ? String(p.outputs.prediction) : `failed: ${p.error?.code ?? 'ERROR'}`}</td>
            <td className="num">{num(p.latencyMs)}</td>
            <td>{p.label ? String(p.label.value) : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The prediction log, newest first, by deployment or model version, a page at a time. */
export function PredictionsPage() {
  const { query } = useLocation();
  const deployment = query.get('deployment') ?? '';
  const modelVersion = query.get('modelVersion') ?? '';
  const cursor = query.get('cursor') ?? '';
  const [draft, setDraft] = useState({ deployment, modelVersion });
  const list = useAsync(
    () =>
      api().serving.predictions.list({
        limit: 100,
        ...(deployment ? { deployment } : {}),
        ...(modelVersion ? { modelVersion } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    [deployment, modelVersion, cursor],
  );
  const href = (patch: Record<string, string>) => {
    const q = new URLSearchParams({ deployment, modelVersion, cursor: '', ...patch });
    for (const [k, v] of [...q.entries()]) if (!v) q.delete(k);
    return `/predictions${q.size ? `?${q}` : ''}`;
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    navigate(href({ ...draft, cursor: '' }), { replace: true });
  };
  return (
    <section>
      <h1>Predictions</h1>
      <form className="toolbar" onSubmit={submit}>
        <label>
          Deployment{' '}
          <input
            value={draft.deployment}
            onChange={(e) => setDraft({ ...draft, deployment: e.target.value })}
          />
        </label>
        <label>
          Model version{' '}
          <input
            value={draft.modelVersion}
            onChange={(e) => setDraft({ ...draft, modelVersion: e.target.value })}
            placeholder="credit@3"
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Show value={list} what="predictions">
        {({ predictions, nextCursor }) =>
          predictions.length === 0 ? (
            <p className="empty">No predictions match.</p>
          ) : (
            <>
              <PredictionsTable predictions={predictions} />
              {nextCursor ? <Link to={href({ cursor: nextCursor })}>Older predictions</Link> : null}
            </>
          )
        }
      </Show>
    </section>
  );
}

/** A deployment: champion and challenger, errors, traffic, latency, and its recent predictions. */
export function DeploymentPage({ name }: { name: string }) {
  const d = useAsync(() => api().serving.deployments.get(name), [name]);
  const predictions = useAsync(
    () => api().serving.predictions.list({ deployment: name, limit: RECENT }),
    [name],
  );
  const stats = useAsync(() => api().serving.deployments.stats(name), [name]);
  return (
    <section>
      <Show value={d} what="the deployment">
        {(dep) => (
          <>
            <h1>
              <span className="muted">Deployment</span> {dep.name}{' '}
              {dep.deletedAt ? <Badge value="deleted" /> : null}
            </h1>
            <Facts
              rows={[
                [
                  'Champion',
                  <Link key="m" to={`/models/${seg(dep.model)}`}>{`${dep.model}@${dep.ref}`}</Link>,
                ],
                [
                  'Challenger',
                  dep.challenger
                    ? `${dep.model}@${dep.challenger.ref}, ${dep.challenger.mode}${dep.challenger.percent !== null ? `, ${dep.challenger.percent}% of traffic` : ''}`
                    : 'none',
                ],
                ['Ledger', dep.ledgerMode],
                ['Created', `${when(dep.createdAt)} by ${dep.createdBy}`],
                [
                  'Monitoring',
                  <Link key="mon" to={`/deployments/${seg(dep.name)}/monitoring`}>
                    monitors, drift, performance and alerts
                  </Link>,
                ],
              ]}
            />
          </>
        )}
      </Show>
      <h2>Errors</h2>
      <Show value={stats} what="the request counts">
        {(s) => <Errors stats={s} />}
      </Show>
      <h2>Traffic and latency</h2>
      <Show value={predictions} what="predictions">
        {({ predictions: list }) =>
          list.length === 0 ? (
            <p className="empty">No predictions logged yet.</p>
          ) : (
            <>
              <Traffic predictions={list} />
              <h2>Recent predictions</h2>
              <PredictionsTable predictions={list.slice(0, 50)} />
            </>
          )
        }
      </Show>
    </section>
  );
}
