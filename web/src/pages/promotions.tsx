import { type FormEvent, useState } from 'react';
import type { GateResult, PromotionRequest, PromotionStatus } from '../../../src/registry/registry.schema.js';
import { api } from '../api';
import { Badge, ErrorBox, Show } from '../components/status';
import { when } from '../format';
import { Link, navigate, seg, useLocation } from '../router';
import { useCan, usePrincipal } from '../session';
import { useAsync } from '../use-async';

function Gates({ gates, title }: { gates: GateResult[]; title: string }) {
  if (gates.length === 0) return null;
  return (
    <table className="gates">
      <caption>{title}</caption>
      <thead>
        <tr>
          <th>Gate</th>
          <th>Status</th>
          <th>What it needs / observed</th>
        </tr>
      </thead>
      <tbody>
        {gates.map((g) => (
          <tr key={`${g.gate}-${g.type}`}>
            <td>
              {g.gate} <span className="muted">({g.type})</span>
            </td>
            <td>
              <Badge value={g.status} />
            </td>
            <td className="wrap">{g.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One request: what it moves, its gates, the decisions so far, and approve / reject for approvers. */
export function PromotionCard({
  request: r,
  onDecided,
}: {
  request: PromotionRequest;
  onDecided: () => void;
}) {
  const canApprove = useCan('approve');
  const principal = usePrincipal();
  const [comment, setComment] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const decide = (decision: 'approve' | 'reject') => async (e?: FormEvent) => {
    e?.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      if (decision === 'approve') await api().models.approve(r.id, comment || undefined);
      else await api().models.reject(r.id, comment);
      setComment('');
      onDecided();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const open = r.status === 'pending' || r.status === 'blocked';
  const own = principal?.name === r.requestedBy;
  return (
    <article
      className="card promotion"
      data-testid={`promotion-${r.id}`}
      aria-label={`promotion request ${r.id}`}
    >
      <header>
        <Link to={`/promotions/${seg(r.id)}`}>
          {r.kind === 'rollback' ? 'Roll back' : 'Promote'} {r.model} v{r.version} → {r.alias}
        </Link>{' '}
        <Badge value={r.status} />
      </header>
      <p className="muted">
        requested by {r.requestedBy} at {when(r.createdAt)}
        {r.fromVersion !== null ? `; ${r.alias} is v${r.fromVersion} now` : ''}; needs {r.approvalsNeeded}{' '}
        approval(s); expires {when(r.expiresAt)}
      </p>
      {r.reason ? <q className="reason">{r.reason}</q> : null}
      <Gates gates={r.openGates} title="Gates when requested" />
      {r.executionGates ? <Gates gates={r.executionGates} title="Gates at execution" /> : null}
      {r.decisions.length > 0 ? (
        <ul className="decisions">
          {r.decisions.map((d) => (
            <li key={`${d.actor}-${d.at}`}>
              <Badge value={d.decision} /> {d.actor} ({d.role}) {when(d.at)}
              {d.comment ? <q className="reason">{d.comment}</q> : null}
            </li>
          ))}
        </ul>
      ) : null}
      {open && canApprove ? (
        own ? (
          <p className="muted">You requested this; another approver decides (separation of duties).</p>
        ) : (
          <form className="decide" onSubmit={decide('approve')}>
            <label htmlFor={`comment-${r.id}`}>Comment</label>
            <textarea
              id={`comment-${r.id}`}
              value={comment}
              onChange={(e) => setComment(e.target.value)}
              placeholder="required to reject"
              rows={2}
            />
            <button type="submit" disabled={busy}>
              Approve
            </button>
            <button
              type="button"
              className="danger"
              disabled={busy || !comment.trim()}
              onClick={() => decide('reject')()}
            >
              Reject
            </button>
          </form>
        )
      ) : null}
      <ErrorBox error={error} title="The decision was refused" />
    </article>
  );
}

const STATUSES: (PromotionStatus | 'all')[] = [
  'pending',
  'blocked',
  'executed',
  'rejected',
  'expired',
  'cancelled',
  'all',
];

/** The approvers' inbox: promotion requests by status, pending first. */
export function PromotionsPage() {
  const { query } = useLocation();
  const status = (query.get('status') ?? 'pending') as PromotionStatus | 'all';
  const list = useAsync(
    () => api().models.requests({ ...(status === 'all' ? {} : { status }), maxResults: 200 }),
    [status],
  );
  return (
    <section>
      <h1>Promotion requests</h1>
      <nav className="tabs" aria-label="request status">
        {STATUSES.map((s) => (
          <Link key={s} to={`/promotions?status=${s}`} aria-current={s === status ? 'page' : undefined}>
            {s}
          </Link>
        ))}
      </nav>
      <Show value={list} what="promotion requests">
        {(requests) =>
          requests.length === 0 ? (
            <p className="empty">No {status === 'all' ? '' : status} requests.</p>
          ) : (
            requests.map((r) => <PromotionCard key={r.id} request={r} onDecided={list.reload} />)
          )
        }
      </Show>
    </section>
  );
}

/** One request by id (a deep link for a review). */
export function PromotionPage({ id }: { id: string }) {
  const r = useAsync(() => api().models.request(id), [id]);
  return (
    <section>
      <h1>Promotion request</h1>
      <Show value={r} what="the request">
        {(req) => (
          <>
            <PromotionCard request={req} onDecided={r.reload} />
            <p>
              <Link to={`/models/${seg(req.model)}`}>Model {req.model}</Link>{' '}
              <button type="button" className="link" onClick={() => navigate('/promotions')}>
                Back to the inbox
              </button>
            </p>
          </>
        )}
      </Show>
    </section>
  );
}
