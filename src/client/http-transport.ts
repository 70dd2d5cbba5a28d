import { AppError, type ErrorCode, isAppError } from '../core/errors.js';

/** How a domain's HTTP client reaches the server: JSON calls and raw responses (for streams). */
export interface HttpTransport {
  raw(method: string, path: string, init?: HttpInit): Promise<Response>;
  call<T>(method: string, path: string, init?: HttpInit): Promise<T>;
}

export interface HttpInit {
  body?: NonNullable<RequestInit['body']>;
  json?: unknown;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Builds the transport: base URL, bearer token, and the server's error body mapped back to AppError. */
export function createHttpTransport(options: {
  url: string;
  token?: string;
  fetch?: typeof fetch;
}): HttpTransport {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};

  async function raw(method: string, path: string, init: HttpInit = {}) {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(init.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers: {
          ...headers,
          ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(init.body !== undefined ? { 'content-type': 'application/octet-stream' } : {}),
          ...init.headers,
        },
        ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
        ...(init.body !== undefined ? { body: init.body, duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      throw new AppError(
        'UNAVAILABLE',
        `cannot reach the Sextant server at ${base}: ${(err as Error).message}`,
      );
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => undefined)) as { error?: unknown } | undefined;
      if (body && isAppError(body.error))
        throw new AppError(body.error.code as ErrorCode, body.error.message, body.error.details);
      throw new AppError(
        res.status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED',
        `${method} ${path} answered HTTP ${res.status}`,
      );
    }
    return res;
  }
  async function call<T>(method: string, path: string, init: HttpInit = {}): Promise<T> {
    return (await (await raw(method, path, init)).json()) as T;
  }

  return { raw, call };
}
