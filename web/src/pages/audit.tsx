import { type FormEvent, useState } from 'react';
import type { AuditVerifyResult } from '../../../src/audit/audit.schema.js';
import { api } from '../api';
import { Badge, ErrorBox, Show } from '../components/status';
import { short, when } from '../format';
import { navigate, useLocation } from '../router';
import { useAsync } from '../use-async';

/** The audit log with filters, and the result of verifying its hash chain. */
export function AuditPage() {
  const { query } = useLocation();
  const entityType = query.get('entityType') ?? '';
  const entityId = query.get('entityId') ?? '';
  const limit = Number(query.get('limit') ?? 200);
  const entries = useAsync(
    () =>
      api().audit.list({
        ...(entityType ? { entityType } : {}),
        ...(entityId ? { entityId } : {}),
        limit,
      }),
    [entityType, entityId, limit],
  );
  const [draft, setDraft] = useState({ entityType, entityId });
  const [verify, setVerify] = useState<AuditVerifyResult>();
  const [verifying, setVerifying] = useState(false);
  const [error, setError] = useState<Error>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (draft.entityType) q.set('entityType', draft.entityType);
    if (draft.entityId) q.set('entityId', draft.entityId);
    navigate(`/audit${q.size ? `?${q}` : ''}`, { replace: true });
  };
  const runVerify = async () => {
    setVerifying(true);
    setError(undefined);
    try {
      setVerify(await api().audit.verify());
    } catch (err) {
      setError(err as Error);
    } finally {
      setVerifying(false);
    }
  };
  return (
    <section>
      <h1>Audit log</h1>
      <div className="toolbar">
        <button type="button" onClick={runVerify} disabled={verifying}>
          {verifying ? 'Verifying…' : 'Verify the chain'}
        </button>
        {verify ? (
          <span role="status" data-testid="audit-verify">
            <Badge value={verify.ok ? 'ok' : 'broken'} /> {verify.entries} entries
            {verify.head ? `, head #${verify.head.seq} ${short(verify.head.hash)}` : ''}, {verify.checkpoints}{' '}
            checkpoint(s)
            {verify.problems.length > 0 ? `: ${verify.problems.map((p) => p.message).join('; ')}` : ''}
          </span>
        ) : null}
      </div>
      <ErrorBox error={error} title="Verification failed" />
      <form className="toolbar" onSubmit={submit}>
        <label>
          Entity type{' '}
          <input
            value={draft.entityType}
            onChange={(e) => setDraft({ ...draft, entityType: e.target.value })}
            placeholder="run, model_version, alias…"
          />
        </label>
        <label>
          Entity id{' '}
          <input value={draft.entityId} onChange={(e) => setDraft({ ...draft, entityId: e.target.value })} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Show value={entries} what="audit entries">
        {(list) =>
          list.length === 0 ? (
            <p className="empty">No entries match.</p>
          ) : (
            <table data-testid="audit-table">
              <thead>
                <tr>
                  <th>#</th>
                  <th>At</th>
                  <th>Actor</th>
                  <th>Action</th>
                  <th>Entity</th>
                  <th>Hash</th>
                </tr>
              </thead>
              <tbody>
                {list.map((e) => (
                  <tr key={e.id}>
                    <td>{e.seq}</td>
                    <td>{when(e.at)}</td>
                    <td>{e.actor}</td>
                    <td>{e.action}</td>
                    <td className="wrap">
                      {e.entityType} <code>{e.entityId}</code>
                    </td>
                    <td>
                      <code title={e.hash}>{short(e.hash)}</code>
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
