import { useMemo, useState } from 'react';
import type { Alert } from '../../../src/monitoring/alerts/alert.schema.js';
import type { MetricPoint } from '../../../src/monitoring/metric-point.schema.js';
import type { Monitor, MonitorRun } from '../../../src/monitoring/monitor.schema.js';
import { api } from '../api';
import { LineChart, type Series } from '../components/line-chart';
import { Badge, ErrorBox, Facts, Show } from '../components/status';
import { num, when } from '../format';
import { Link, seg } from '../router';
import { useCan } from '../session';
import { useAsync } from '../use-async';

/*
 * A deployment's monitoring: its monitors, the latest run's verdict per feature (skew against the
 * reference, drift against the previous window), estimated (CBPE) against realised performance over
 * time, fairness per group, and the alerts with what their actions did.
 */

const RUNS = 20;

/** A point's verdict as people read it: DRIFT past the threshold, OK within, NO DATA when too few rows. */
function verdict(p: MetricPoint | undefined): string {
  if (!p) return '-';
  if (p.status === 'alert') return 'DRIFT';
  if (p.status === 'warning') return 'WARNING';
  if (p.status === 'insufficient_data') return 'NO_DATA';
  return 'OK';
}

interface FeatureRow {
  feature: string;
  skew?: MetricPoint;
  drift?: MetricPoint;
}

/** The worst point of a feature among its tests (the first test breaks ties). */
function worst(points: MetricPoint[]): MetricPoint | undefined {
  const rank = { alert: 3, warning: 2, ok: 1, insufficient_data: 0 } as const;
  return [...points].sort((a, b) => rank[b.status] - rank[a.status])[0];
}

function featureRows(points: MetricPoint[]): FeatureRow[] {
  const by = new Map<string, { skew: MetricPoint[]; drift: MetricPoint[] }>();
  for (const p of points) {
    if (!p.feature || p.slice) continue;
    const kind = p.metric.startsWith('skew.') ? 'skew' : p.metric.startsWith('drift.') ? 'drift' : null;
    if (!kind) continue;
    const entry = by.get(p.feature) ?? { skew: [], drift: [] };
    entry[kind].push(p);
    by.set(p.feature, entry);
  }
  return [...by.entries()].map(([feature, e]) => {
    const row: FeatureRow = { feature };
    const skew = worst(e.skew);
    const drift = worst(e.drift);
    if (skew) row.skew = skew;
    if (drift) row.drift = drift;
    return row;
  });
}

function Verdict({ p }: { p: MetricPoint | undefined }) {
  if (!p) return <span className="muted">-</span>;
  const threshold = p.details.threshold;
  return (
    <>
      <Badge value={verdict(p)} /> <span className="muted">{p.metric.split('.').slice(1).join('.')}</span>{' '}
      {num(p.value)}
      {typeof threshold === 'number' ? <span className="muted"> (threshold {num(threshold)})</span> : null}
    </>
  );
}

function FeatureTable({ points }: { points: MetricPoint[] }) {
  const rows = featureRows(points);
  if (rows.length === 0) return <p className="empty">The latest run measured no feature.</p>;
  const share = (m: string) => points.find((p) => p.metric === m && !p.feature && !p.slice);
  const skewShare = share('skew.share');
  const driftShare = share('drift.share');
  return (
    <>
      <p>
        {skewShare ? (
          <>
            Skew (serving vs reference): <Badge value={verdict(skewShare)} /> {num(skewShare.value)} of
            features.{' '}
          </>
        ) : null}
        {driftShare ? (
          <>
            Drift (vs the previous window): <Badge value={verdict(driftShare)} /> {num(driftShare.value)} of
            features.
          </>
        ) : null}
      </p>
      <table data-testid="monitor-features">
        <thead>
          <tr>
            <th>Feature</th>
            <th>Skew (vs reference)</th>
            <th>Drift (vs previous window)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.feature} data-feature={r.feature}>
              <td className="name">{r.feature}</td>
              <td data-testid="skew">
                <Verdict p={r.skew} />
              </td>
              <td data-testid="drift">
                <Verdict p={r.drift} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

const numberOr = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** Estimated (CBPE, with its band) and realised performance with label coverage, over windows. */
function Performance({ points }: { points: MetricPoint[] }) {
  const view = useMemo(() => {
    const whole = points.filter((p) => !p.feature && !p.slice);
    const estimated = whole.filter((p) => p.metric.startsWith('estimate.'));
    const realised = whole.filter(
      (p) => p.metric.startsWith('performance.') && p.metric !== 'performance.label_coverage',
    );
    const names = [
      ...new Set([...estimated, ...realised].map((p) => p.metric.split('.').slice(1).join('.'))),
    ];
    const metric = names.includes('accuracy') ? 'accuracy' : names[0];
    if (!metric) return null;
    // Windows are numbered in time order: their lengths differ between monitors (and demo runs).
    const ends = [...new Set(whole.map((p) => p.windowEnd))].sort((a, b) => a - b);
    const index = new Map(ends.map((end, i) => [end, i + 1]));
    const x = (p: MetricPoint) => index.get(p.windowEnd)!;
    const line = (label: string, ps: MetricPoint[], y: (p: MetricPoint) => number | null): Series => {
      const kept = ps.filter((p) => y(p) !== null).sort((a, b) => a.windowEnd - b.windowEnd);
      return { label, xs: kept.map(x), ys: kept.map((p) => y(p)!) };
    };
    const est = estimated.filter((p) => p.metric === `estimate.${metric}`);
    const real = realised.filter((p) => p.metric === `performance.${metric}`);
    const coverage = whole.filter((p) => p.metric === 'performance.label_coverage');
    const series = [
      line(`estimated ${metric} (CBPE)`, est, (p) => p.value),
      line('band lower', est, (p) => numberOr(p.details.lower)),
      line('band upper', est, (p) => numberOr(p.details.upper)),
      line(`realised ${metric}`, real, (p) => p.value),
      line('label coverage', coverage, (p) => p.value),
    ].filter((s) => s.xs.length > 0);
    const measured = new Set([...est, ...real, ...coverage].map((p) => p.windowEnd));
    const at = (ps: MetricPoint[], end: number) => ps.find((p) => p.windowEnd === end);
    const rows = ends
      .filter((end) => measured.has(end))
      .map((end) => {
        const e = at(est, end);
        return {
          end,
          estimate: e,
          lower: numberOr(e?.details.lower),
          upper: numberOr(e?.details.upper),
          realised: at(real, end),
          coverage: at(coverage, end),
        };
      });
    return { metric, series, rows };
  }, [points]);
  if (!view) return <p className="empty">No performance measured or estimated yet.</p>;
  return (
    <>
      {view.series.length > 0 && view.rows.length > 1 ? (
        <LineChart title={`${view.metric}: estimated vs realised`} xLabel="window" series={view.series} />
      ) : null}
      <table data-testid="monitor-performance">
        <thead>
          <tr>
            <th>Window end</th>
            <th>Estimated {view.metric} (CBPE)</th>
            <th>Band</th>
            <th>Realised {view.metric}</th>
            <th>Label coverage</th>
          </tr>
        </thead>
        <tbody>
          {view.rows.map((r) => (
            <tr key={r.end}>
              <td>{when(new Date(r.end).toISOString())}</td>
              <td className="num">{num(r.estimate?.value)}</td>
              <td className="num">{r.lower !== null ? `${num(r.lower)} – ${num(r.upper)}` : '-'}</td>
              <td className="num">
                {num(r.realised?.value)} {r.realised ? <Badge value={r.realised.status} /> : null}
              </td>
              <td className="num">{num(r.coverage?.value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Fairness metrics per group (slice) of the latest run. */
function Fairness({ points }: { points: MetricPoint[] }) {
  const fair = points.filter((p) => p.metric.startsWith('fairness.') && p.slice);
  if (fair.length === 0)
    return <p className="empty">No fairness metric measured (the monitor names no protected attribute).</p>;
  return (
    <table data-testid="monitor-fairness">
      <thead>
        <tr>
          <th>Metric</th>
          <th>Group</th>
          <th>Value</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {fair.map((p) => (
          <tr key={`${p.metric}|${p.slice}`}>
            <td>{p.metric.slice('fairness.'.length)}</td>
            <td>{p.slice}</td>
            <td className="num">{num(p.value)}</td>
            <td>
              <Badge value={p.status} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Alerts with their state, what fired them and what their action did; write roles acknowledge. */
function Alerts({ deployment }: { deployment: string }) {
  const alerts = useAsync(() => api().alerts.list({ deployment, limit: 200 }), [deployment]);
  const canWrite = useCan('write');
  const [error, setError] = useState<Error>();
  const ack = async (a: Alert) => {
    setError(undefined);
    try {
      await api().alerts.ack(a.id, { comment: 'acknowledged in the web UI' });
      alerts.reload();
    } catch (e) {
      setError(e as Error);
    }
  };
  return (
    <Show value={alerts} what="alerts">
      {(list) =>
        list.length === 0 ? (
          <p className="empty">No alerts.</p>
        ) : (
          <>
            <ErrorBox error={error} title="Could not acknowledge" />
            <table data-testid="monitor-alerts">
              <thead>
                <tr>
                  <th>Rule</th>
                  <th>State</th>
                  <th>Severity</th>
                  <th>Metric</th>
                  <th>Value</th>
                  <th>Fired</th>
                  <th>Action</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {list.map((a) => (
                  <tr key={a.id} data-rule={a.rule}>
                    <td className="name">{a.rule}</td>
                    <td>
                      <Badge value={a.state} />
                      {a.acknowledgedBy ? <span className="muted"> by {a.acknowledgedBy}</span> : null}
                    </td>
                    <td>{a.severity}</td>
                    <td>
                      {a.metric}
                      {a.feature ? ` (${a.feature})` : ''}
                      {a.slice ? ` [${a.slice}]` : ''}
                    </td>
                    <td className="num">
                      {num(a.value)} <span className="muted">{a.condition}</span>
                    </td>
                    <td>{when(a.firedAt)}</td>
                    <td>
                      {a.action}
                      {a.actionOutcome ? (
                        <>
                          {' '}
                          <Badge value={a.actionOutcome.status} />{' '}
                          <span className="muted">{a.actionOutcome.message}</span>
                        </>
                      ) : null}
                    </td>
                    <td>
                      {canWrite && a.state === 'firing' ? (
                        <button type="button" onClick={() => void ack(a)}>
                          Acknowledge
                        </button>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )
      }
    </Show>
  );
}

/** One monitor: its latest run, the features, performance and fairness. */
function MonitorView({ monitor }: { monitor: Monitor }) {
  const data = useAsync(async () => {
    // The last 20 runs, and the points of their windows (not the monitor's whole history).
    const runs = await api().monitoring.runs(monitor.id, RUNS);
    const oldest = runs.at(-1);
    const points = oldest
      ? await api().monitoring.series({ monitorId: monitor.id, since: oldest.windowStart, limit: 100_000 })
      : [];
    return { runs, points };
  }, [monitor.id]);
  return (
    <section className="monitor" data-testid="monitor" aria-label={`monitor ${monitor.name}`}>
      <h2>
        <span className="muted">Monitor</span> {monitor.name}{' '}
        <span className="muted">v{monitor.version}</span>
      </h2>
      <Show value={data} what="the monitor's runs">
        {({ runs, points }) => {
          const latest: MonitorRun | undefined = runs.find((r) => r.status === 'completed') ?? runs[0];
          const latestPoints = latest ? points.filter((p) => p.runId === latest.id) : [];
          return (
            <>
              <Facts
                rows={[
                  ['Runs', `${runs.length}${runs.length === RUNS ? ' (the latest)' : ''}`],
                  [
                    'Latest run',
                    latest ? (
                      <span key="l">
                        {latest.id} <Badge value={latest.status} /> window {when(latest.windowStart)} to{' '}
                        {when(latest.windowEnd)}, {latest.rows} rows, {latest.points} points
                        {latest.error ? ` - ${latest.error}` : ''}
                      </span>
                    ) : (
                      'none yet'
                    ),
                  ],
                ]}
              />
              {latest ? (
                <>
                  <h3>Features (latest run)</h3>
                  <FeatureTable points={latestPoints} />
                  <h3>Performance over time</h3>
                  <Performance points={points} />
                  <h3>Fairness (latest run)</h3>
                  <Fairness points={latestPoints} />
                </>
              ) : (
                <p className="empty">This monitor has not run yet (sextant monitor run).</p>
              )}
            </>
          );
        }}
      </Show>
    </section>
  );
}

/** /deployments/:name/monitoring */
export function MonitoringPage({ name }: { name: string }) {
  const monitors = useAsync(() => api().monitoring.list({ deployment: name }), [name]);
  return (
    <section>
      <h1>
        <span className="muted">Monitoring</span> <Link to={`/deployments/${seg(name)}`}>{name}</Link>
      </h1>
      <h2>Alerts</h2>
      <Alerts deployment={name} />
      <Show value={monitors} what="monitors">
        {(list) =>
          list.length === 0 ? (
            <p className="empty">No monitor watches this deployment (sextant monitor create).</p>
          ) : (
            list.map((m) => <MonitorView key={m.id} monitor={m} />)
          )
        }
      </Show>
    </section>
  );
}
