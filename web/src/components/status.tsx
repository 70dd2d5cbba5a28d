import type { ReactNode } from 'react';

/** An API error as the server said it: code and message, never swallowed. */
export function ErrorBox({ error, title }: { error: Error | undefined; title?: string }) {
  if (!error) return null;
  const code = (error as { code?: string }).code;
  return (
    <div className="error" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      {code ? <code className="error-code">{code}</code> : null} {error.message}
    </div>
  );
}

export function Loading({ what }: { what?: string }) {
  return (
    <p className="muted" aria-busy="true">
      Loading{what ? ` ${what}` : ''}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** Loading, error or the content of an async value. */
export function Show<T>({
  value,
  what,
  children,
}: {
  value: { data: T | undefined; error: Error | undefined; loading: boolean };
  what?: string;
  children: (data: T) => ReactNode;
}) {
  if (value.error)
    return <ErrorBox error={value.error} title={what ? `Could not load ${what}` : undefined} />;
  if (value.data === undefined) return <Loading what={what} />;
  return <>{children(value.data)}</>;
}

/** A pill for a state: FINISHED, pending, pass, fail... */
export function Badge({ value }: { value: string }) {
  return <span className={`badge badge-${value.toLowerCase().replace(/[^a-z_]/g, '')}`}>{value}</span>;
}

/** Label/value rows. */
export function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="facts">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? '-'}</dd>
        </div>
      ))}
    </dl>
  );
}
