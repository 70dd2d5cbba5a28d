import {
  createHttpClient,
  createHttpTransport,
  type HttpTransport,
  type SextantApi,
} from '../../src/client/index.js';

/*
 * The one client of the UI: the typed HTTP client the CLI uses, on this origin, with the API token
 * the user signed in with. A 401 (no token, an expired or revoked one) clears it and sends the user
 * to sign in, coming back to the page they were on.
 */
const TOKEN_KEY = 'sextant.token';

export function currentToken(): string | undefined {
  return window.localStorage.getItem(TOKEN_KEY) ?? undefined;
}
export function setToken(token: string | undefined): void {
  if (token) window.localStorage.setItem(TOKEN_KEY, token);
  else window.localStorage.removeItem(TOKEN_KEY);
  build();
}

const authFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  if (res.status === 401 && !window.location.pathname.startsWith('/signin')) {
    window.localStorage.removeItem(TOKEN_KEY);
    const next = window.location.pathname + window.location.search;
    window.location.assign(`/signin?next=${encodeURIComponent(next)}`);
  }
  return res;
};

let client: SextantApi;
let transport: HttpTransport;
function build(): void {
  const token = currentToken();
  const options = { url: window.location.origin, fetch: authFetch, ...(token ? { token } : {}) };
  client = createHttpClient(options);
  transport = createHttpTransport(options);
}
build();

/** The typed client of the API. */
export const api = (): SextantApi => client;
/** Raw responses (artifact previews). */
export const http = (): HttpTransport => transport;
