import { useEffect, useState } from 'react';
import { artifactUrl } from '../../../src/client/index.js';
import type { ArtifactEntry, Metric, Run } from '../../../src/tracking/tracking.schema.js';
import { api, http } from '../api';
import { LineChart, type Series } from '../components/line-chart';
import { Badge, ErrorBox, Facts, Show } from '../components/status';
import { bytes, num, short, when } from '../format';
import { Link, seg } from '../router';
import { useAsync } from '../use-async';

const numeric = (m: Metric) => (typeof m.value === 'number' ? m.value : Number(m.value));

/** One chart per metric of a run, from its full history. */
function MetricCharts({ run }: { run: Run }) {
  const keys = [...new Set(run.metrics.map((m) => m.key))].sort();
  const histories = useAsync(
    () => Promise.all(keys.map(async (k) => [k, await api().runs.metricHistory(run.id, k)] as const)),
    [run.id, keys.join('\u0000')],
  );
  return (
    <Show value={histories} what="metric histories">
      {(list) => (
        <div className="charts">
          {list
            .filter(([, h]) => h.length > 1)
            .map(([k, h]) => {
              const series: Series[] = [{ label: k, xs: h.map((m) => m.step), ys: h.map(numeric) }];
              return <LineChart key={k} title={k} series={series} />;
            })}
        </div>
      )}
    </Show>
  );
}

const TEXT = /\.(txt|json|ya?ml|csv|md|log|py|toml|ini|cfg|tsv)$|^[^.]+$/i;
const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;
const PREVIEW_LIMIT = 256 * 1024;

/** A text or image artifact shown inline (text capped at 256 KiB; SVG shown as an image, never inlined). */
function Preview({ runId, entry }: { runId: string; entry: ArtifactEntry }) {
  const [content, setContent] = useState<{ text?: string; url?: string; error?: Error }>({});
  useEffect(() => {
    let url: string | undefined;
    let live = true;
    http()
      .raw('GET', artifactUrl(runId, entry.path))
      .then(async (res) => {
        if (IMAGE.test(entry.path)) {
          url = URL.createObjectURL(await res.blob());
          if (live) setContent({ url });
        } else {
          const text = await res.text();
          if (live)
            setContent({ text: text.length > PREVIEW_LIMIT ? `${text.slice(0, PREVIEW_LIMIT)}\n…` : text });
        }
      })
      .catch((error: Error) => live && setContent({ error }));
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [runId, entry.path]);
  if (content.error) return <ErrorBox error={content.error} title={`Could not read ${entry.path}`} />;
  if (content.url) return <img className="artifact-image" src={content.url} alt={entry.path} />;
  // Focusable, so keyboard users can scroll a long preview.
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take focus (WCAG 2.1.1)
    <pre className="artifact-text" tabIndex={0}>
      {content.text ?? '…'}
    </pre>
  );
}

function Artifacts({ runId }: { runId: string }) {
  const [dir, setDir] = useState('');
  const [open, setOpen] = useState<ArtifactEntry | undefined>();
  const list = useAsync(() => api().runs.listArtifacts(runId, dir), [runId, dir]);
  return (
    <div className="artifacts">
      <p className="muted">
        /{dir}{' '}
        {dir ? (
          <button type="button" onClick={() => setDir(dir.split('/').slice(0, -1).join('/'))}>
            up
          </button>
        ) : null}
      </p>
      <Show value={list} what="artifacts">
        {(entries) =>
          entries.length === 0 ? (
            <p className="empty">No artifacts.</p>
          ) : (
            <ul className="artifact-list">
              {entries.map((e) => (
                <li key={e.path}>
                  <button
                    type="button"
                    className="link"
                    onClick={() => (e.isDir ? setDir(e.path) : setOpen(e))}
                    aria-pressed={open?.path === e.path}
                  >
                    {e.isDir ? '📁 ' : ''}
                    {e.path.split('/').at(-1)}
                  </button>{' '}
                  <span className="muted">{e.size !== null ? bytes(e.size) : ''}</span>
                </li>
              ))}
            </ul>
          )
        }
      </Show>
      {open && (TEXT.test(open.path) || IMAGE.test(open.path)) && (open.size ?? 0) < 20 * 1024 * 1024 ? (
        <Preview runId={runId} entry={open} />
      ) : open ? (
        <p className="muted">No preview for {open.path}.</p>
      ) : null}
    </div>
  );
}

/** A run: its facts, params, metrics with charts, artifacts with preview, inputs and outputs, lineage. */
export function RunPage({ runId }: { runId: string }) {
  const run = useAsync(() => api().runs.get(runId), [runId]);
  return (
    <Show value={run} what="the run">
      {(r) => (
        <section>
          <h1>
            <span className="muted">Run</span> {r.name || r.id} <Badge value={r.status} />
          </h1>
          <p className="toolbar">
            <Link to={`/experiments/${seg(r.experimentId)}`}>← experiment {r.experimentId}</Link>
            <Link to={`/lineage?ref=${seg(r.id)}`}>Lineage</Link>
          </p>
          <Facts
            rows={[
              ['Run id', <code key="id">{r.id}</code>],
              ['User', r.userId],
              ['Started', when(r.startTime)],
              ['Ended', when(r.endTime)],
              ['Git commit', r.gitCommit ? `${short(r.gitCommit)}${r.gitDirty ? ' (dirty)' : ''}` : '-'],
              ['Command', r.command ?? '-'],
            ]}
          />
          <div className="two-col">
            <div>
              <h2>Params</h2>
              {Object.keys(r.params).length === 0 ? (
                <p className="empty">No params.</p>
              ) : (
                <table>
                  <tbody>
                    {Object.entries(r.params)
                      .sort()
                      .map(([k, v]) => (
                        <tr key={k}>
                          <th scope="row">{k}</th>
                          <td className="wrap">{v}</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              )}
            </div>
            <div>
              <h2>Metrics (latest)</h2>
              {r.metrics.length === 0 ? (
                <p className="empty">No metrics.</p>
              ) : (
                <table data-testid="run-metrics">
                  <tbody>
                    {r.metrics.map((m) => (
                      <tr key={m.key}>
                        <th scope="row">{m.key}</th>
                        <td className="num">{num(m.value)}</td>
                        <td className="muted">step {m.step}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          </div>
          <h2>Metric charts</h2>
          <MetricCharts run={r} />
          <h2>Inputs and outputs</h2>
          {r.inputs.length === 0 ? (
            <p className="empty">No dataset inputs or outputs recorded.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Direction</th>
                  <th>Name</th>
                  <th>Digest</th>
                  <th>Source</th>
                </tr>
              </thead>
              <tbody>
                {r.inputs.map((i) => (
                  <tr key={i.id}>
                    <td>{i.direction}</td>
                    <td>
                      {i.datasetVersionId ? (
                        <Link to={`/lineage?ref=${seg(i.datasetVersionId)}`}>{i.name}</Link>
                      ) : (
                        i.name
                      )}
                    </td>
                    <td>
                      <code>{short(i.digest)}</code>
                    </td>
                    <td className="wrap">{i.source ?? '-'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Artifacts</h2>
          <Artifacts runId={r.id} />
          <h2>Tags</h2>
          <table>
            <tbody>
              {Object.entries(r.tags).map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td className="wrap">{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </Show>
  );
}
