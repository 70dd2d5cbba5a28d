import type { Prediction } from '../../../src/serving/serving.schema.js';
import { api } from '../api';
import { LineChart } from '../components/line-chart';
import { Badge, Facts, Show } from '../components/status';
import { num, when } from '../format';
import { Link, seg } from '../router';
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
      <p className="muted">
        Shadow errors: {shadowErrors}. Failed requests are counted in the serving process's /metrics.
      </p>
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

/** A deployment: champion and challenger, traffic, latency, and its recent predictions. */
export function DeploymentPage({ name }: { name: string }) {
  const d = useAsync(() => api().serving.deployments.get(name), [name]);
  const predictions = useAsync(
    () => api().serving.predictions.list({ deployment: name, limit: RECENT }),
    [name],
  );
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
              ]}
            />
          </>
        )}
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
                  {list.slice(0, 50).map((p) => (
                    <tr key={p.id}>
                      <td>
                        <Link to={`/predictions/${seg(p.id)}`}>{p.id}</Link>
                      </td>
                      <td>{when(p.servedAt)}</td>
                      <td>
                        {p.model}@{p.version} <span className="muted">{p.role}</span>
                      </td>
                      <td>{String(p.outputs.prediction)}</td>
                      <td className="num">{num(p.latencyMs)}</td>
                      <td>{p.label ? String(p.label.value) : ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )
        }
      </Show>
    </section>
  );
}
