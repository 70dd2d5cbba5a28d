import { useState } from 'react';
import type { Metric, Run } from '../../../src/tracking/tracking.schema.js';
import { api } from '../api';
import { LineChart } from '../components/line-chart';
import { type Axis, ParallelCoordinates } from '../components/parallel-coordinates';
import { Show } from '../components/status';
import { num } from '../format';
import { Link, seg, useLocation } from '../router';
import { useAsync } from '../use-async';

const value = (m: Metric | undefined) => (m === undefined ? Number.NaN : Number(m.value));

/** Metric histories of every run, per metric key. */
function Charts({ runs, keys }: { runs: Run[]; keys: string[] }) {
  const histories = useAsync(
    () =>
      Promise.all(
        keys.map(async (key) => ({
          key,
          series: await Promise.all(
            runs.map(async (r) => {
              const h = await api().runs.metricHistory(r.id, key);
              return { label: r.name || r.id, xs: h.map((m) => m.step), ys: h.map((m) => Number(m.value)) };
            }),
          ),
        })),
      ),
    [runs.map((r) => r.id).join(','), keys.join(',')],
  );
  return (
    <Show value={histories} what="metric histories">
      {(list) => (
        <div className="charts">
          {list
            // A metric logged once per run is in the table above; a chart needs a curve.
            .filter(({ series }) => series.some((s) => s.xs.length > 1))
            .map(({ key, series }) => (
              <LineChart key={key} title={key} series={series.filter((s) => s.xs.length > 0)} />
            ))}
        </div>
      )}
    </Show>
  );
}

function Comparison({ runs }: { runs: Run[] }) {
  const metricKeys = [...new Set(runs.flatMap((r) => r.metrics.map((m) => m.key)))].sort();
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const differing = paramKeys.filter((k) => new Set(runs.map((r) => r.params[k] ?? '\u0000')).size > 1);
  const [metric, setMetric] = useState(metricKeys[0] ?? '');
  const numericParams = differing.filter((k) =>
    runs.every((r) => r.params[k] === undefined || Number.isFinite(Number(r.params[k]))),
  );
  const axes: Axis[] = [
    ...numericParams.map((k) => ({ name: k, values: runs.map((r) => Number(r.params[k] ?? Number.NaN)) })),
    ...(metric
      ? [{ name: metric, values: runs.map((r) => value(r.metrics.find((m) => m.key === metric))) }]
      : []),
  ];
  return (
    <>
      <h2>Params that differ</h2>
      {differing.length === 0 ? (
        <p className="empty">These runs have the same params.</p>
      ) : (
        <table data-testid="params-diff">
          <thead>
            <tr>
              <th>Param</th>
              {runs.map((r) => (
                <th key={r.id}>
                  <Link to={`/runs/${seg(r.id)}`}>{r.name || r.id}</Link>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {differing.map((k) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                {runs.map((r) => (
                  <td key={r.id}>{r.params[k] ?? <span className="muted">unset</span>}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted">{paramKeys.length - differing.length} params are the same in every run.</p>
      <h2>Metrics (latest)</h2>
      <table>
        <thead>
          <tr>
            <th>Metric</th>
            {runs.map((r) => (
              <th key={r.id}>{r.name || r.id}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {metricKeys.map((k) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              {runs.map((r) => (
                <td key={r.id} className="num">
                  {num(r.metrics.find((m) => m.key === k)?.value)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Params vs metric</h2>
      <label>
        Metric{' '}
        <select value={metric} onChange={(e) => setMetric(e.target.value)}>
          {metricKeys.map((k) => (
            <option key={k}>{k}</option>
          ))}
        </select>
      </label>
      {axes.length >= 2 ? (
        <ParallelCoordinates axes={axes} lines={runs.map((r) => r.name || r.id)} />
      ) : (
        <p className="empty">No numeric params differ between these runs.</p>
      )}
      <h2>Metric charts</h2>
      <Charts runs={runs} keys={metricKeys} />
    </>
  );
}

/** Runs side by side: params diff, parallel coordinates, metric charts over steps. */
export function ComparePage() {
  const { query } = useLocation();
  const ids = (query.get('runs') ?? '').split(',').filter(Boolean);
  const runs = useAsync(() => Promise.all(ids.map((id) => api().runs.get(id))), [ids.join(',')]);
  return (
    <section>
      <h1>Compare {ids.length} runs</h1>
      {ids.length < 2 ? (
        <p className="empty">Pick two or more runs in an experiment's table to compare them.</p>
      ) : (
        <Show value={runs} what="the runs">
          {(list) => <Comparison runs={list} />}
        </Show>
      )}
    </section>
  );
}
