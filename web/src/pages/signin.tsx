import { type FormEvent, useState } from 'react';
import { createHttpClient } from '../../../src/client/index.js';
import { setToken } from '../api';
import { ErrorBox } from '../components/status';
import { useLocation } from '../router';

/** Sign in with an API token (sextant tokens create); the token stays in this browser only. */
export function SignInPage() {
  const { query } = useLocation();
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<Error>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await createHttpClient({ url: window.location.origin, token: secret.trim() }).me();
      setToken(secret.trim());
      const next = query.get('next');
      // Only a path on this origin: never a full URL handed in by a link.
      window.location.assign(next?.startsWith('/') && !next.startsWith('//') ? next : '/');
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <section className="signin">
      <h1>Sign in to Sextant</h1>
      <p>
        This server requires an API token. An admin creates one with{' '}
        <code>sextant tokens create --user you</code>.
      </p>
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
          placeholder="sxt_…"
          required
        />
        <button type="submit">Sign in</button>
      </form>
      <ErrorBox error={error} title="Sign-in failed" />
    </section>
  );
}
