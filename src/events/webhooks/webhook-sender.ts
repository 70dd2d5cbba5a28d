import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { type AllowList, bareHost, refusalFor } from './address-guard.js';

/** Name resolution: every address a host name resolves to. Tests replace it to play DNS tricks. */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (hostname) =>
  dns.promises.lookup(hostname, { all: true, verbatim: true });

/** A destination refused by the address rules: retrying cannot help, so the delivery fails at once. */
export class RefusedTargetError extends Error {
  readonly refused = true;
}

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface SendResult {
  /** The last URL asked, after redirects. */
  url: string;
  statusCode?: number;
  error?: string;
  /** True when retrying cannot succeed (a refused address, a redirect to a non-HTTP scheme). */
  permanent?: boolean;
}

export interface SenderOptions {
  allow: AllowList;
  resolve: Resolver;
  /** Budget for the whole attempt, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * POSTs a webhook body. The address rules are applied where it matters: on every address the host
 * resolves to (a custom `lookup`, so a DNS answer that changed since `add` cannot slip through), on the
 * address the socket actually connected to (nothing is written before that check), and again on every
 * redirect, which is followed by hand.
 */
export function createSender(o: SenderOptions): (req: SendRequest) => Promise<SendResult> {
  function guardedLookup(
    hostname: string,
    options: { family?: number | string; all?: boolean },
    callback: (err: Error | null, address?: unknown, family?: number) => void,
  ): void {
    o.resolve(hostname).then(
      (found) => {
        if (!found.length)
          return callback(Object.assign(new Error(`cannot resolve ${hostname}`), { code: 'ENOTFOUND' }));
        // Every answer is judged, not just the one used: the OS may pick any of them, now or on retry.
        for (const a of found) {
          const why = refusalFor(o.allow, hostname, a.address);
          if (why) return callback(new RefusedTargetError(`refused: ${hostname} resolves to ${why}`));
        }
        const want =
          options.family === 4 || options.family === 'IPv4'
            ? 4
            : options.family === 6 || options.family === 'IPv6'
              ? 6
              : 0;
        const usable = want ? found.filter((a) => a.family === want) : found;
        if (!usable.length)
          return callback(
            Object.assign(new Error(`no IPv${want} address for ${hostname}`), { code: 'ENOTFOUND' }),
          );
        if (options.all) return callback(null, usable);
        return callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: Error) => callback(err),
    );
  }

  function postOnce(
    url: URL,
    req: SendRequest,
    deadline: number,
  ): Promise<{ status: number; location?: string }> {
    const host = bareHost(url);
    // IP literals never go through `lookup`, so they are judged here (and again once connected).
    if (net.isIP(host)) {
      const why = refusalFor(o.allow, host, host);
      if (why) return Promise.reject(new RefusedTargetError(`refused: ${why}`));
    }
    return new Promise((resolve, reject) => {
      const remaining = Math.max(1, deadline - Date.now());
      const mod = url.protocol === 'https:' ? https : http;
      const r = mod.request(
        url,
        {
          method: 'POST',
          headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
          agent: false,
          lookup: guardedLookup as never,
        },
        (res) => {
          clearTimeout(timer);
          const location = res.headers.location;
          resolve({ status: res.statusCode ?? 0, ...(location ? { location } : {}) });
          // The reply body is not needed; the connection is not reused (agent: false).
          res.destroy();
        },
      );
      const timer = setTimeout(
        () => r.destroy(new Error(`timed out after ${Math.round(remaining)} ms`)),
        remaining,
      );
      r.on('socket', (socket) => {
        const check = () => {
          const addr = socket.remoteAddress;
          const why = addr ? refusalFor(o.allow, host, addr) : 'the connection has no remote address';
          if (why) {
            r.destroy(new RefusedTargetError(`refused: connected to ${why}`));
            return;
          }
          // Only now does anything leave: headers and body go out together.
          r.end(req.body);
        };
        if (socket.connecting) socket.once('connect', check);
        else check();
      });
      r.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  return async function send(req: SendRequest): Promise<SendResult> {
    const deadline = Date.now() + o.timeoutMs;
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return { url: req.url, error: `not a URL: ${req.url}`, permanent: true };
    }
    for (let hop = 0; ; hop++) {
      let reply: { status: number; location?: string };
      try {
        reply = await postOnce(url, req, deadline);
      } catch (err) {
        const e = err as Error & { code?: string };
        return {
          url: url.href,
          error: e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message,
          ...(err instanceof RefusedTargetError ? { permanent: true } : {}),
        };
      }
      if (REDIRECTS.has(reply.status) && reply.location) {
        let next: URL;
        try {
          next = new URL(reply.location, url);
        } catch {
          return {
            url: url.href,
            statusCode: reply.status,
            error: `bad redirect location '${reply.location}'`,
          };
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:')
          return {
            url: url.href,
            statusCode: reply.status,
            error: `refused: redirect to ${next.protocol} URL`,
            permanent: true,
          };
        if (hop >= o.maxRedirects)
          return { url: url.href, statusCode: reply.status, error: `more than ${o.maxRedirects} redirects` };
        url = next;
        continue;
      }
      const ok = reply.status >= 200 && reply.status < 300;
      return { url: url.href, statusCode: reply.status, ...(ok ? {} : { error: `HTTP ${reply.status}` }) };
    }
  };
}
