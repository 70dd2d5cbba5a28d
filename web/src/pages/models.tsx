import { type FormEvent, lazy, Suspense, useState } from 'react';
import {
  type AliasEvent,
  CARD_FIELDS,
  type CardField,
  type ModelVersion,
} from '../../../src/registry/registry.schema.js';
import { api, currentToken } from '../api';
import { Badge, ErrorBox, Facts, Show } from '../components/status';
import { bytes, num, short, when } from '../format';
import { Link, navigate, seg } from '../router';
import { useCan } from '../session';
import { useAsync } from '../use-async';
import { PromotionCard } from './promotions';

/** Every registered model with its aliases. */
export function ModelsPage() {
  const list = useAsync(() => api().models.list({ maxResults: 1000 }), []);
  const pending = useAsync(() => api().models.requests({ status: 'pending' }), []);
  return (
    <section>
      <h1>Models</h1>
      {pending.data && pending.data.length > 0 ? (
        <p className="notice">
          <Link to="/promotions">{pending.data.length} promotion request(s) wait for a decision</Link>
        </p>
      ) : null}
      <Show value={list} what="models">
        {({ models }) =>
          models.length === 0 ? (
            <p className="empty">No registered models yet.</p>
          ) : (
            <table data-testid="models-table">
              <thead>
                <tr>
                  <th>Model</th>
                  <th>Latest</th>
                  <th>Aliases</th>
                  <th>Updated</th>
                  <th>Description</th>
                </tr>
              </thead>
              <tbody>
                {models.map((m) => (
                  <tr key={m.id}>
                    <td className="name">
                      <Link to={`/models/${seg(m.name)}`}>{m.name}</Link>
                    </td>
                    <td>{m.latestVersion ?? '-'}</td>
                    <td>
                      {m.aliases.map((a) => (
                        <span key={a.alias} className="alias">
                          {a.alias} → v{a.version}
                        </span>
                      ))}
                    </td>
                    <td>{when(m.updatedAt)}</td>
                    <td className="wrap clamp">{m.description ?? ''}</td>
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

/** Who held each alias when, who moved it and why, with the approvals behind each move. */
function AliasTimeline({ events }: { events: AliasEvent[] }) {
  if (events.length === 0) return <p className="empty">No alias has been set yet.</p>;
  return (
    <ol className="timeline" data-testid="alias-timeline">
      {[...events].reverse().map((e) => (
        <li key={e.id} className={`event-${e.kind}`}>
          <time dateTime={e.at}>{when(e.at)}</time> <strong>{e.alias}</strong>{' '}
          {e.kind === 'delete' ? 'removed' : `${e.fromVersion ?? '∅'} → ${e.toVersion ?? '∅'}`}{' '}
          <Badge value={e.kind} />
          {e.emergency ? <Badge value="emergency" /> : null} by {e.actor}
          {e.reason ? <q className="reason">{e.reason}</q> : null}
          {e.approvals.length > 0 ? (
            <span className="muted">
              {' '}
              approved by{' '}
              {e.approvals
                .map((a) => `${a.actor} (${a.role})${a.comment ? `: “${a.comment}”` : ''}`)
                .join(', ')}
            </span>
          ) : null}
          {e.requestId ? (
            <>
              {' '}
              <Link to={`/promotions/${seg(e.requestId)}`}>request</Link>
            </>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

function RollbackForm({ model, onDone }: { model: string; onDone: () => void }) {
  const [alias, setAlias] = useState('champion');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error>();
  const [outcome, setOutcome] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const r = await api().models.rollback(model, { alias, ...(reason ? { reason } : {}) });
      setOutcome(
        r.outcome === 'rolled_back'
          ? `Rolled back: ${alias} → v${r.event.toVersion}`
          : `A rollback request is open (${r.request.id}); it needs approval.`,
      );
      onDone();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <label>
        Alias <input value={alias} onChange={(e) => setAlias(e.target.value)} required />
      </label>
      <label>
        Reason <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="why" />
      </label>
      <button type="submit" className="danger">
        Roll back
      </button>
      {outcome ? <span role="status">{outcome}</span> : null}
      <ErrorBox error={error} title="Rollback refused" />
    </form>
  );
}

function PromoteForm({
  model,
  versions,
  onDone,
}: {
  model: string;
  versions: ModelVersion[];
  onDone: () => void;
}) {
  const [version, setVersion] = useState(String(versions[0]?.version ?? ''));
  const [alias, setAlias] = useState('champion');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const r = await api().models.promote({
        ref: `${model}@${version}`,
        alias,
        ...(reason ? { reason } : {}),
      });
      onDone();
      navigate(`/promotions/${seg(r.id)}`);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <label>
        Version{' '}
        <select value={version} onChange={(e) => setVersion(e.target.value)}>
          {versions.map((v) => (
            <option key={v.version} value={v.version}>
              {v.version}
            </option>
          ))}
        </select>
      </label>
      <label>
        to alias <input value={alias} onChange={(e) => setAlias(e.target.value)} required />
      </label>
      <label>
        Reason <input value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <button type="submit">Request promotion</button>
      <ErrorBox error={error} title="Promotion refused" />
    </form>
  );
}

/** A model: versions, aliases and their timeline, its promotion requests, rollback and promote. */
export function ModelPage({ name }: { name: string }) {
  const model = useAsync(() => api().models.get(name), [name]);
  const versions = useAsync(() => api().models.versions(name, { maxResults: 1000 }), [name]);
  const history = useAsync(() => api().models.history(name), [name]);
  const requests = useAsync(() => api().models.requests({ model: name, maxResults: 50 }), [name]);
  const canWrite = useCan('write');
  const reload = () => {
    model.reload();
    versions.reload();
    history.reload();
    requests.reload();
  };
  return (
    <section>
      <Show value={model} what="the model">
        {(m) => (
          <>
            <h1>
              <span className="muted">Model</span> {m.name}
            </h1>
            <p>
              {m.aliases.map((a) => (
                <Link key={a.alias} className="alias" to={`/models/${seg(m.name)}/versions/${a.version}`}>
                  {a.alias} → v{a.version}
                </Link>
              ))}{' '}
              <Link to={`/lineage?ref=${seg(`${m.name}@latest`)}`}>Lineage</Link>
            </p>
            {m.description ? <p className="wrap">{m.description}</p> : null}
          </>
        )}
      </Show>
      <h2>Versions</h2>
      <Show value={versions} what="versions">
        {({ versions: list }) =>
          list.length === 0 ? (
            <p className="empty">No versions registered.</p>
          ) : (
            <>
              <table data-testid="versions-table">
                <thead>
                  <tr>
                    <th>Version</th>
                    <th>Aliases</th>
                    <th>Format</th>
                    <th>Metrics</th>
                    <th>Run</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((v) => (
                    <tr key={v.id}>
                      <td>
                        <Link to={`/models/${seg(name)}/versions/${v.version}`}>v{v.version}</Link>
                      </td>
                      <td>{v.aliases.join(', ')}</td>
                      <td>{v.format}</td>
                      <td className="wrap">
                        {Object.entries(v.metrics)
                          .slice(0, 4)
                          .map(([k, x]) => `${k} ${num(x)}`)
                          .join(', ')}
                      </td>
                      <td>
                        {v.runId ? <Link to={`/runs/${seg(v.runId)}`}>{short(v.runId, 16)}</Link> : '-'}
                      </td>
                      <td>
                        {when(v.createdAt)} by {v.createdBy}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {canWrite ? (
                <>
                  <h3>Promote</h3>
                  <PromoteForm model={name} versions={list} onDone={reload} />
                  <h3>Roll back</h3>
                  <RollbackForm model={name} onDone={reload} />
                </>
              ) : null}
            </>
          )
        }
      </Show>
      <h2>Alias timeline</h2>
      <Show value={history} what="alias history">
        {(h) => <AliasTimeline events={h.events} />}
      </Show>
      <h2>Promotion requests</h2>
      <Show value={requests} what="promotion requests">
        {(list) =>
          list.length === 0 ? (
            <p className="empty">No promotion requests.</p>
          ) : (
            list.map((r) => <PromotionCard key={r.id} request={r} onDecided={reload} />)
          )
        }
      </Show>
    </section>
  );
}

/** The editable fields of a version's model card, for roles with `write`. */
function CardEditor({ version, onSaved }: { version: ModelVersion; onSaved: () => void }) {
  const [fields, setFields] = useState<Partial<Record<CardField, string>>>(version.card);
  const [error, setError] = useState<Error>();
  const [saved, setSaved] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setSaved(false);
    try {
      await api().models.updateVersion(version.model, version.version, { card: fields });
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <details className="card">
      <summary>Edit the model card</summary>
      <form className="card-editor" onSubmit={submit}>
        {CARD_FIELDS.map((f) => (
          <label key={f}>
            {f.replace(/_/g, ' ')}
            <textarea
              rows={2}
              value={fields[f] ?? ''}
              onChange={(e) => setFields({ ...fields, [f]: e.target.value })}
            />
          </label>
        ))}
        <button type="submit">Save the card</button>
        {saved ? <span role="status">Saved.</span> : null}
        <ErrorBox error={error} title="The card was not saved" />
      </form>
    </details>
  );
}

/** A model version: its facts, metrics, params, signature, model card (sanitised Markdown) and lineage. */
/**
 * The version's compliance report: one self-contained HTML document the server renders. Without a
 * token (auth off) it is a plain link that opens it. With one, a link cannot carry the bearer token,
 * so the client fetches the document and hands it over as a file (a blob URL opened in a tab would
 * inherit this UI's CSP, which forbids the report's inline style).
 */
function ComplianceLink({ model, version }: { model: string; version: string }) {
  const [state, setState] = useState<{ busy?: boolean; error?: Error }>({});
  const href = `/api/v1/models/${seg(model)}/versions/${seg(version)}/compliance-report?format=html`;
  if (!currentToken())
    return (
      <a href={href} target="_blank" rel="noopener noreferrer">
        Compliance report
      </a>
    );
  const download = async () => {
    setState({ busy: true });
    try {
      const html = await api().compliance.html({ model, ref: version });
      const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `compliance-${model}-v${version}.html`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setState({});
    } catch (error) {
      setState({ error: error as Error });
    }
  };
  return (
    <>
      <button type="button" className="link" onClick={() => void download()} disabled={state.busy}>
        {state.busy ? 'Preparing the compliance report…' : 'Compliance report'}
      </button>
      <ErrorBox error={state.error} title="Could not build the compliance report" />
    </>
  );
}

export function ModelVersionPage({ name, version }: { name: string; version: string }) {
  const ref = `${name}@${version}`;
  const v = useAsync(() => api().models.version(ref), [ref]);
  const card = useAsync(() => api().models.card(ref, 'markdown'), [ref]);
  const canWrite = useCan('write');
  return (
    <section>
      <Show value={v} what="the model version">
        {(mv) => (
          <>
            <h1>
              <Link to={`/models/${seg(name)}`}>{mv.model}</Link> <span className="muted">version</span>{' '}
              {mv.version}{' '}
              {mv.aliases.map((a) => (
                <span key={a} className="alias">
                  {a}
                </span>
              ))}
            </h1>
            <p className="toolbar">
              <Link to={`/lineage?ref=${seg(`${mv.model}@${mv.version}`)}`}>Lineage</Link>
              {mv.runId ? <Link to={`/runs/${seg(mv.runId)}`}>Training run</Link> : null}
              <ComplianceLink model={mv.model} version={String(mv.version)} />
            </p>
            <Facts
              rows={[
                ['Id', <code key="id">{mv.id}</code>],
                ['Format', mv.format],
                ['sha256', <code key="sha">{mv.sha256}</code>],
                ['Size', bytes(mv.size)],
                ['Source', mv.source],
                ['Created', `${when(mv.createdAt)} by ${mv.createdBy}`],
                ['Code commit', mv.codeCommit ?? '-'],
                ['Datasets', mv.datasetVersionIds.join(', ') || '-'],
                ['Environment', [mv.environment.node, mv.environment.os].filter(Boolean).join(', ') || '-'],
              ]}
            />
            <div className="two-col">
              <div>
                <h2>Metrics</h2>
                <table>
                  <tbody>
                    {Object.entries(mv.metrics).map(([k, x]) => (
                      <tr key={k}>
                        <th scope="row">{k}</th>
                        <td className="num">{num(x)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <div>
                <h2>Params</h2>
                <table>
                  <tbody>
                    {Object.entries(mv.params).map(([k, x]) => (
                      <tr key={k}>
                        <th scope="row">{k}</th>
                        <td className="wrap">{x}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
            {mv.signature ? (
              <>
                <h2>Signature</h2>
                <p>
                  inputs: {mv.signature.inputs.map((i) => `${i.name} (${i.type})`).join(', ')}; outputs:{' '}
                  {mv.signature.outputs.map((i) => `${i.name} (${i.type})`).join(', ')}
                </p>
              </>
            ) : null}
          </>
        )}
      </Show>
      <h2>Model card</h2>
      {canWrite && v.data ? (
        <CardEditor
          key={v.data.updatedAt}
          version={v.data}
          onSaved={() => {
            v.reload();
            card.reload();
          }}
        />
      ) : null}
      <Show value={card} what="the model card">
        {(c) => <MarkdownLazy text={c.content} />}
      </Show>
    </section>
  );
}

const Markdown = lazy(() => import('../components/markdown').then((m) => ({ default: m.Markdown })));
function MarkdownLazy({ text }: { text: string }) {
  return (
    <Suspense fallback={<p className="muted">Rendering…</p>}>
      <Markdown text={text} />
    </Suspense>
  );
}
