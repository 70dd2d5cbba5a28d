import { type FormEvent, useState } from 'react';
import type { DatasetDiff, DatasetVersion } from '../../../src/data/dataset.schema.js';
import type { ComparisonResult } from '../../../src/data/quality/compare.schema.js';
import type { ColumnProfile } from '../../../src/data/tables/table.schema.js';
import { api } from '../api';
import { HistogramChart } from '../components/bars';
import { Badge, ErrorBox, Facts, Show } from '../components/status';
import { bytes, num, short, when } from '../format';
import { Link, seg } from '../router';
import { useAsync } from '../use-async';

/** Every dataset with its latest version. */
export function DatasetsPage() {
  const list = useAsync(() => api().data.listDatasets(), []);
  return (
    <section>
      <h1>Datasets</h1>
      <Show value={list} what="datasets">
        {(datasets) =>
          datasets.length === 0 ? (
            <p className="empty">No datasets yet (sextant data add).</p>
          ) : (
            <table data-testid="datasets-table">
              <thead>
                <tr>
                  <th>Dataset</th>
                  <th>Versions</th>
                  <th>Latest digest</th>
                  <th>Files</th>
                  <th>Size</th>
                  <th>Updated</th>
                </tr>
              </thead>
              <tbody>
                {datasets.map((d) => (
                  <tr key={d.name}>
                    <td className="name">
                      <Link to={`/datasets/${seg(d.name)}`}>{d.name}</Link>
                    </td>
                    <td>{d.versions}</td>
                    <td>
                      <code>{d.latest ? short(d.latest.digest) : '-'}</code>
                    </td>
                    <td>{d.latest?.fileCount ?? '-'}</td>
                    <td>{d.latest ? bytes(d.latest.totalSize) : '-'}</td>
                    <td>{when(d.latest?.createdAt ?? d.createdAt)}</td>
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

/** A dataset's versions, newest first. */
export function DatasetPage({ name }: { name: string }) {
  const versions = useAsync(() => api().data.listVersions(name), [name]);
  return (
    <section>
      <h1>
        <span className="muted">Dataset</span> {name}
      </h1>
      <Show value={versions} what="versions">
        {(list) => (
          <table>
            <thead>
              <tr>
                <th>Version</th>
                <th>Digest</th>
                <th>Tags</th>
                <th>Files</th>
                <th>Size</th>
                <th>Created</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {list.map((v) => (
                <tr key={v.id}>
                  <td>
                    <Link to={`/datasets/${seg(name)}/versions/${v.number}`}>@{v.number}</Link>
                  </td>
                  <td>
                    <code>{short(v.digest)}</code>
                  </td>
                  <td>{v.tags.join(', ')}</td>
                  <td>{v.fileCount}</td>
                  <td>{bytes(v.totalSize)}</td>
                  <td>
                    {when(v.createdAt)} by {v.createdBy}
                  </td>
                  <td className="wrap clamp">{v.description ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </section>
  );
}

function ColumnRow({ c }: { c: ColumnProfile }) {
  return (
    <tr>
      <th scope="row">{c.name}</th>
      <td>{c.type}</td>
      <td className="num">{c.count}</td>
      <td className="num">{c.nulls}</td>
      <td className="num">{c.distinct}</td>
      <td className="num">{num(c.mean)}</td>
      <td className="num">{num(c.std)}</td>
      <td className="num">{c.min === undefined ? '-' : String(c.min)}</td>
      <td className="num">{c.max === undefined ? '-' : String(c.max)}</td>
      <td>
        {c.histogram ? (
          <HistogramChart histogram={c.histogram} label={c.name} />
        ) : c.topK ? (
          <span className="wrap">
            {c.topK
              .slice(0, 5)
              .map((t) => `${t.value} (${t.count})`)
              .join(', ')}
          </span>
        ) : null}
      </td>
    </tr>
  );
}

function Quality({ reference }: { reference: string }) {
  const results = useAsync(() => api().dataQuality.results(reference), [reference]);
  return (
    <Show value={results} what="quality results">
      {(list) =>
        list.length === 0 ? (
          <p className="empty">No quality suite has run on this version.</p>
        ) : (
          list.map((r) => (
            <details key={r.id} className="card" open={!r.passed}>
              <summary>
                {r.suite} on {r.table}: <Badge value={r.passed ? 'passed' : 'failed'} /> {r.total - r.failed}/
                {r.total} passed, {when(r.createdAt)}
              </summary>
              <table>
                <thead>
                  <tr>
                    <th>Expectation</th>
                    <th>Expected</th>
                    <th>Result</th>
                    <th>Failing rows / examples</th>
                  </tr>
                </thead>
                <tbody>
                  {r.results.map((x) => (
                    <tr key={x.index}>
                      <td>
                        {x.kind} {x.columns.join(', ')}
                      </td>
                      <td className="wrap">{x.expected}</td>
                      <td>
                        <Badge value={x.passed ? 'pass' : 'fail'} />
                      </td>
                      <td className="wrap">
                        {x.failingRows !== undefined ? `${x.failingRows} rows ` : ''}
                        {x.examples && x.examples.length > 0 ? (
                          <code>{JSON.stringify(x.examples.slice(0, 3))}</code>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          ))
        )
      }
    </Show>
  );
}

/** Diff against another version, or drift against another (train vs production). */
function Against({ version }: { version: DatasetVersion }) {
  const [other, setOther] = useState('');
  const [mode, setMode] = useState<'diff' | 'drift'>('diff');
  const [result, setResult] = useState<{ kind: 'diff' | 'drift'; data: unknown }>();
  const [error, setError] = useState<Error>();
  const self = `${version.dataset}@${version.number}`;
  // Suggestions: the other versions of this dataset and the latest of every other dataset.
  const refs = useAsync(async () => {
    const [all, mine] = await Promise.all([
      api().data.listDatasets(),
      api().data.listVersions(version.dataset),
    ]);
    return [
      ...mine.filter((v) => v.number !== version.number).map((v) => `${v.dataset}@${v.number}`),
      ...all
        .filter((d) => d.name !== version.dataset && d.latest)
        .map((d) => `${d.name}@${d.latest!.number}`),
    ];
  }, [self]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setResult(undefined);
    try {
      if (mode === 'diff') setResult({ kind: 'diff', data: await api().data.diff(other, self) });
      else
        setResult({
          kind: 'drift',
          data: await api().dataQuality.compare({ reference: { ref: other }, current: { ref: self } }),
        });
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <>
      <form className="inline-form" onSubmit={submit}>
        <label>
          Compare with{' '}
          <input
            value={other}
            onChange={(e) => setOther(e.target.value)}
            placeholder="credit-train@1"
            list="dataset-refs"
            required
          />
          <datalist id="dataset-refs">
            {(refs.data ?? []).map((r) => (
              <option key={r} value={r} />
            ))}
          </datalist>
        </label>
        <label>
          as{' '}
          <select value={mode} onChange={(e) => setMode(e.target.value as 'diff' | 'drift')}>
            <option value="diff">diff (files, schema, stats)</option>
            <option value="drift">drift (reference → this version)</option>
          </select>
        </label>
        <button type="submit">Compare</button>
      </form>
      <ErrorBox error={error} title="The comparison failed" />
      {result?.kind === 'diff' ? <DiffView diff={result.data as DatasetDiff} /> : null}
      {result?.kind === 'drift' ? <DriftView report={result.data as ComparisonResult} /> : null}
    </>
  );
}

function DiffView({ diff }: { diff: DatasetDiff }) {
  return (
    <div data-testid="dataset-diff">
      <p>
        {diff.added.length} added, {diff.removed.length} removed, {diff.changed.length} changed,{' '}
        {diff.unchanged} unchanged files
      </p>
      <ul>
        {diff.added.map((f) => (
          <li key={`a${f.path}`}>+ {f.path}</li>
        ))}
        {diff.removed.map((f) => (
          <li key={`r${f.path}`}>− {f.path}</li>
        ))}
        {diff.changed.map((f) => (
          <li key={`c${f.path}`}>
            ~ {f.path} ({bytes(f.a.size)} → {bytes(f.b.size)})
          </li>
        ))}
      </ul>
      {diff.tables.map((t) => (
        <table key={t.path}>
          <caption>
            {t.path}: rows {t.diff.rowCount.a} → {t.diff.rowCount.b}
          </caption>
          <thead>
            <tr>
              <th>Column</th>
              <th>mean a → b</th>
              <th>nulls a → b</th>
              <th>changed</th>
            </tr>
          </thead>
          <tbody>
            {t.diff.columns.map((c) => (
              <tr key={c.name}>
                <th scope="row">{c.name}</th>
                <td>
                  {num(c.a.mean)} → {num(c.b.mean)}
                </td>
                <td>
                  {c.a.nulls} → {c.b.nulls}
                </td>
                <td>{c.changed ? 'yes' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </div>
  );
}

function DriftView({ report }: { report: ComparisonResult }) {
  return (
    <div data-testid="dataset-drift">
      <p>
        <Badge value={report.drift ? 'drift' : 'no_drift'} /> {report.driftedColumns} of{' '}
        {report.testedColumns} columns drifted ({report.referenceRows} reference rows, {report.currentRows}{' '}
        current rows)
      </p>
      <table>
        <thead>
          <tr>
            <th>Column</th>
            <th>Test</th>
            <th>Statistic</th>
            <th>p-value / distance</th>
            <th>PSI</th>
            <th>Drifted</th>
          </tr>
        </thead>
        <tbody>
          {report.columns.map((c) => (
            <tr key={c.name}>
              <th scope="row">{c.name}</th>
              <td>{c.test ?? c.skipped ?? '-'}</td>
              <td className="num">{num(c.statistic)}</td>
              <td className="num">{num(c.pValue ?? c.distance)}</td>
              <td className="num">{num(c.psi)}</td>
              <td>{c.drifted ? <Badge value="drift" /> : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One dataset version: digest, metadata, files, per-column profiles, quality, diff and drift. */
export function DatasetVersionPage({ name, number }: { name: string; number: string }) {
  const ref = `${name}@${number}`;
  const v = useAsync(() => api().data.show(ref), [ref]);
  return (
    <Show value={v} what="the dataset version">
      {(dv) => (
        <section>
          <h1>
            <Link to={`/datasets/${seg(dv.dataset)}`}>{dv.dataset}</Link>@{dv.number}
          </h1>
          <p className="toolbar">
            <Link to={`/lineage?ref=${seg(ref)}`}>Lineage</Link>
            {dv.producedByRunId ? <Link to={`/runs/${seg(dv.producedByRunId)}`}>Producing run</Link> : null}
          </p>
          <Facts
            rows={[
              ['Digest', <code key="d">{dv.digest}</code>],
              ['Created', `${when(dv.createdAt)} by ${dv.createdBy}`],
              ['Source', dv.source ?? '-'],
              ['Description', dv.description ?? '-'],
              ['Owner', dv.owner ?? '-'],
              ['License', dv.license ?? '-'],
              ['PII', dv.pii ? 'yes' : 'no'],
              ['Tags', dv.tags.join(', ') || '-'],
              ['Parents', dv.parents.join(', ') || '-'],
            ]}
          />
          <h2>Files</h2>
          <table>
            <thead>
              <tr>
                <th>Path</th>
                <th>Size</th>
                <th>sha256</th>
              </tr>
            </thead>
            <tbody>
              {dv.files.map((f) => (
                <tr key={f.path}>
                  <td className="wrap">{f.path}</td>
                  <td>{bytes(f.size)}</td>
                  <td>
                    <code>{short(f.sha256)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Profiles</h2>
          {dv.tables.length === 0 ? <p className="empty">No tables profiled in this version.</p> : null}
          {dv.tables.map((t) => (
            <table key={t.path} data-testid="profile-table">
              <caption>
                {t.path} ({t.format}, {t.rowCount} rows)
              </caption>
              <thead>
                <tr>
                  <th>Column</th>
                  <th>Type</th>
                  <th>Count</th>
                  <th>Nulls</th>
                  <th>Distinct</th>
                  <th>Mean</th>
                  <th>Std</th>
                  <th>Min</th>
                  <th>Max</th>
                  <th>Distribution</th>
                </tr>
              </thead>
              <tbody>
                {t.profile.columns.map((c) => (
                  <ColumnRow key={c.name} c={c} />
                ))}
              </tbody>
            </table>
          ))}
          <h2>Quality</h2>
          <Quality reference={ref} />
          <h2>Diff and drift</h2>
          <Against version={dv} />
        </section>
      )}
    </Show>
  );
}
