import { Graph, layout } from '@dagrejs/dagre';
import { useMemo, useState } from 'react';
import type { PipelineRunDetail, PipelineStep } from '../../../src/pipelines/pipeline-spec.schema.js';
import { api } from '../api';
import { ArrowMarker } from '../components/arrow-marker';
import { Badge, Facts, Show } from '../components/status';
import { when } from '../format';
import { Link, seg } from '../router';
import { useAsync } from '../use-async';

/*
 * Pipelines: the registered pipelines with their recent runs, and one run as its DAG (laid out with
 * dagre, as the lineage page is) with each step's status, cache mark, duration, child run and logs.
 */

const NODE_W = 190;
const NODE_H = 50;

/** A step's or run's duration in words (`1.2 s`, `3 min 4 s`), or '-' while unknown. */
export function duration(from: string | null, to: string | null): string {
  if (!from || !to) return '-';
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** /pipelines: every registered pipeline and the 100 latest runs. */
export function PipelinesPage() {
  const data = useAsync(async () => {
    const [pipelines, runs] = await Promise.all([
      api().pipelines.list(),
      api().pipelines.runs({ limit: 100 }),
    ]);
    return { pipelines, runs: runs.runs };
  }, []);
  return (
    <section>
      <h1>Pipelines</h1>
      <Show value={data} what="pipelines">
        {({ pipelines, runs }) => (
          <>
            {pipelines.length === 0 ? (
              <p className="empty">No pipelines registered (sextant pipelines create pipeline.yaml).</p>
            ) : (
              <table data-testid="pipelines-table">
                <thead>
                  <tr>
                    <th>Pipeline</th>
                    <th>Version</th>
                    <th>Runs shown</th>
                    <th>Registered</th>
                  </tr>
                </thead>
                <tbody>
                  {pipelines.map((p) => (
                    <tr key={p.id}>
                      <td className="name">{p.name}</td>
                      <td className="num">{p.version}</td>
                      <td className="num">{runs.filter((r) => r.pipeline === p.name).length}</td>
                      <td>
                        {when(p.createdAt)} <span className="muted">by {p.createdBy}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <h2>Recent runs</h2>
            {runs.length === 0 ? (
              <p className="empty">No pipeline runs yet.</p>
            ) : (
              <table data-testid="pipeline-runs-table">
                <thead>
                  <tr>
                    <th>Run</th>
                    <th>Pipeline</th>
                    <th>Status</th>
                    <th>Trigger</th>
                    <th>Started</th>
                    <th>Duration</th>
                  </tr>
                </thead>
                <tbody>
                  {runs.map((r) => (
                    <tr key={r.id}>
                      <td>
                        <Link to={`/pipelines/runs/${seg(r.id)}`}>{r.id}</Link>
                      </td>
                      <td>
                        {r.pipeline} <span className="muted">v{r.version}</span>
                      </td>
                      <td>
                        <Badge value={r.status} />
                        {r.failedStep ? <span className="muted"> at {r.failedStep}</span> : null}
                      </td>
                      <td>
                        {r.trigger.kind} <span className="muted">{r.trigger.key}</span>
                      </td>
                      <td>
                        {when(r.createdAt)} <span className="muted">by {r.actor}</span>
                      </td>
                      <td className="num">{duration(r.createdAt, r.finishedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </Show>
    </section>
  );
}

function laidOut(steps: PipelineStep[]) {
  const g = new Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 20, ranksep: 60, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const s of steps) g.setNode(s.name, { width: NODE_W, height: NODE_H });
  for (const s of steps) for (const d of s.deps) if (g.hasNode(d)) g.setEdge(d, s.name);
  layout(g);
  const size = g.graph();
  return {
    width: (size.width ?? 400) + 32,
    height: (size.height ?? 120) + 32,
    nodes: steps.map((s) => ({ s, x: g.node(s.name).x, y: g.node(s.name).y })),
    edges: g.edges().map((e) => ({ key: `${e.v}->${e.w}`, points: g.edge(e).points ?? [] })),
  };
}

/** The run's DAG: a box per step coloured by its status; a cached step is marked; click to see it. */
function Dag({ run, onPick }: { run: PipelineRunDetail; onPick: (step: string) => void }) {
  const view = useMemo(() => laidOut(run.steps), [run.steps]);
  return (
    <svg
      className="lineage dag"
      data-testid="pipeline-dag"
      viewBox={`0 0 ${view.width} ${view.height}`}
      height={Math.min(520, view.height)}
      aria-label={`steps of ${run.id}: ${run.steps.length}`}
    >
      <ArrowMarker id="dag-arrow" />
      {view.edges.map(({ key, points }) => (
        <g key={key} className="edge">
          <polyline
            points={points.map((p: { x: number; y: number }) => `${p.x},${p.y}`).join(' ')}
            fill="none"
            markerEnd="url(#dag-arrow)"
          />
        </g>
      ))}
      {view.nodes.map(({ s, x, y }) => (
        // biome-ignore lint/a11y/useSemanticElements: an SVG node cannot be a <button>; it has the role and the keys
        <g
          key={s.name}
          className={`node step step-${s.status}`}
          transform={`translate(${x - NODE_W / 2},${y - NODE_H / 2})`}
          onClick={() => onPick(s.name)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') onPick(s.name);
          }}
          tabIndex={0}
          role="button"
        >
          <rect width={NODE_W} height={NODE_H} rx={6} />
          <text x={8} y={19}>
            {s.name.length > 24 ? `${s.name.slice(0, 23)}…` : s.name}
          </text>
          <text x={8} y={38} className="kind">
            {s.status === 'cached' ? '⟲ cached' : s.status} · {duration(s.startedAt, s.finishedAt)}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** A step's log: the chunks so far (the API pages them; the tail is on the step too). */
function StepLogs({ runId, step }: { runId: string; step: string }) {
  const logs = useAsync(async () => {
    const chunks: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 20; i++) {
      const page = await api().pipelines.logs(runId, { step, after });
      chunks.push(...page.chunks.map((c) => c.text));
      if (page.chunks.length === 0 || !page.cursor || page.cursor === after) break;
      after = page.cursor;
    }
    return chunks.join('');
  }, [runId, step]);
  return (
    <Show value={logs} what={`the logs of ${step}`}>
      {(text) =>
        text ? (
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take focus (WCAG 2.1.1)
          <pre className="artifact-text" data-testid="step-logs" tabIndex={0}>
            {text}
          </pre>
        ) : (
          <p className="empty">No log lines.</p>
        )
      }
    </Show>
  );
}

/** /pipelines/runs/:id: the run, its DAG and its steps. */
export function PipelineRunPage({ id }: { id: string }) {
  const run = useAsync(() => api().pipelines.get(id), [id]);
  const [picked, setPicked] = useState<string>();
  return (
    <section>
      <Show value={run} what="the pipeline run">
        {(r) => (
          <>
            <h1>
              <span className="muted">Pipeline run</span> {r.pipeline} <Badge value={r.status} />
            </h1>
            <Facts
              rows={[
                ['Run', r.id],
                ['Pipeline', `${r.pipeline} v${r.version}`],
                ['Trigger', `${r.trigger.kind} ${r.trigger.key}`],
                ['Started', `${when(r.createdAt)} by ${r.actor}`],
                ['Duration', duration(r.createdAt, r.finishedAt)],
                [
                  'Tracking run',
                  r.trackingRunId ? (
                    <Link key="t" to={`/runs/${seg(r.trackingRunId)}`}>
                      {r.trackingRunId}
                    </Link>
                  ) : (
                    '-'
                  ),
                ],
                ['Params', Object.keys(r.params).length ? JSON.stringify(r.params) : '-'],
                ...(r.error ? ([['Error', `${r.failedStep ?? ''} ${r.error}`]] as [string, string][]) : []),
              ]}
            />
            <p className="muted">
              {r.steps.filter((s) => s.status === 'cached').length} of {r.steps.length} steps came from the
              step cache. Click a step to see its log.
            </p>
            <Dag run={r} onPick={setPicked} />
            <h2>Steps</h2>
            <table data-testid="pipeline-steps">
              <thead>
                <tr>
                  <th>Step</th>
                  <th>Status</th>
                  <th>Needs</th>
                  <th>Duration</th>
                  <th>Attempt</th>
                  <th>Child run</th>
                  <th>Outputs</th>
                  <th>Log</th>
                </tr>
              </thead>
              <tbody>
                {r.steps.map((s) => (
                  <tr key={s.name} data-step={s.name}>
                    <td className="name">{s.name}</td>
                    <td>
                      <Badge value={s.status} />
                      {s.status === 'cached' ? (
                        <span className="muted" title={s.cacheKey ?? undefined}>
                          {' '}
                          from the cache
                        </span>
                      ) : null}
                      {s.exitCode !== null && s.exitCode !== 0 ? (
                        <span className="muted"> exit {s.exitCode}</span>
                      ) : null}
                    </td>
                    <td>{s.deps.join(', ') || '-'}</td>
                    <td className="num">{duration(s.startedAt, s.finishedAt)}</td>
                    <td className="num">{s.attempt}</td>
                    <td>
                      {s.trackingRunId ? (
                        <Link to={`/runs/${seg(s.trackingRunId)}`}>{s.trackingRunId}</Link>
                      ) : (
                        '-'
                      )}
                    </td>
                    <td>{Object.keys(s.outputs ?? {}).join(', ') || '-'}</td>
                    <td>
                      <button type="button" className="link" onClick={() => setPicked(s.name)}>
                        log
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {picked ? (
              <>
                <h2>Log of {picked}</h2>
                {r.steps.find((s) => s.name === picked)?.error ? (
                  <p className="error">{r.steps.find((s) => s.name === picked)?.error}</p>
                ) : null}
                <StepLogs runId={r.id} step={picked} />
              </>
            ) : null}
            <p>
              <Link to="/pipelines">All pipelines</Link>
            </p>
          </>
        )}
      </Show>
    </section>
  );
}
