import type { IncomingHttpHeaders } from 'node:http';
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { ForbiddenError } from '../core/errors.js';

/*
 * Guards every request passes before authentication, against the browser as the attacker's tool:
 *  - DNS rebinding: a page on attacker.example whose name re-resolves to 127.0.0.1 talks to the server
 *    as its own origin. Its requests carry `Host: attacker.example`, so only host names the server
 *    is known by are answered (as MLflow's server does since its own advisory).
 *  - cross-origin writes: a page elsewhere may POST a form or a fetch() at the server; browsers label
 *    those with Origin and Sec-Fetch-Site. Non-browser clients send neither and are not affected.
 *  - security headers on every reply (no sniffing, no framing, no referrer; API replies get a CSP
 *    that allows nothing, which also neutralises an HTML artifact opened from the API).
 */

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** The CSP of API replies: nothing may load or run, nobody may frame it. UI pages set their own. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

export interface RequestGuardOptions {
  /** The address the server listens on (SEXTANT_HOST / --host). */
  listenHost: string;
  /** More host names to answer to (SEXTANT_ALLOWED_HOSTS / --allowed-hosts): names, `*.suffix`, or `*`. */
  allowedHosts: string[];
}

/** The host name of a Host header or URL host, lower-case, without port or IPv6 brackets. */
export function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  // One colon: name:port. More: a bare IPv6 address (no port can be given without brackets).
  const colon = h.indexOf(':');
  return colon !== -1 && h.indexOf(':', colon + 1) === -1 ? h.slice(0, colon) : h;
}

function isWildcardAddress(host: string): boolean {
  return ['0.0.0.0', '::', '[::]', ''].includes(host);
}

/** Decides which Host headers the server answers: loopback names, the listen address, the configured names. */
export function hostAllowList({ listenHost, allowedHosts }: RequestGuardOptions): (host: string) => boolean {
  const exact = new Set<string>(LOOPBACK_NAMES);
  const suffixes: string[] = [];
  let any = false;
  for (const entry of allowedHosts) {
    if (entry === '*') any = true;
    else if (entry.startsWith('*.')) suffixes.push(entry.slice(1).toLowerCase());
    else exact.add(hostnameOf(entry));
  }
  const listen = hostnameOf(listenHost);
  if (isWildcardAddress(listen)) {
    // Listening everywhere: each of this machine's addresses, and its own name, is a way to reach it.
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) exact.add(a.address.toLowerCase().split('%')[0] ?? a.address);
    }
    exact.add(os.hostname().toLowerCase());
  } else {
    exact.add(listen);
  }
  return (host) => {
    if (any) return true;
    const name = hostnameOf(host);
    return exact.has(name) || suffixes.some((s) => name.endsWith(s) && name.length > s.length);
  };
}

/** Why a browser write from another origin is refused, or undefined when it is same-origin or no browser's. */
function crossOriginReason(headers: IncomingHttpHeaders): string | undefined {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    return `Sec-Fetch-Site is '${site}'`;
  }
  const origin = headers.origin;
  if (typeof origin !== 'string') return undefined;
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    return `Origin '${origin}' is not a URL`;
  }
  const host = (headers.host ?? '').toLowerCase();
  return originHost === host ? undefined : `Origin '${origin}' is not this server (${host})`;
}

/** True for the JSON API and the machine endpoints, which get the allow-nothing CSP. */
function isApiPath(url: string): boolean {
  return /^\/(api|ajax-api)\//.test(url) || /^\/(healthz|readyz|metrics|openapi)/.test(url);
}

/** Installs the Host check, the cross-origin write check and the security headers on an app. */
export function installRequestGuards(app: FastifyInstance, options: RequestGuardOptions): void {
  installHostAndOriginChecks(app, options);
  installSecurityHeaders(app);
}

/**
 * The Host check and the cross-origin write check as one function of a request's method and headers:
 * the refusal to answer, or undefined when the request may pass. The Fastify hook and the scoring
 * server's lane (scoring-lane.ts) both call it, so both refuse exactly the same requests.
 */
export function hostAndOriginGuard(
  options: RequestGuardOptions,
): (method: string, headers: IncomingHttpHeaders) => ForbiddenError | undefined {
  const hostAllowed = hostAllowList(options);
  return (method, headers) => {
    const host = headers.host;
    if (!host || !hostAllowed(host)) {
      return new ForbiddenError(
        `Host '${host ?? ''}' is not a name this server answers to; add it with --allowed-hosts or SEXTANT_ALLOWED_HOSTS`,
        { field: 'host' },
      );
    }
    if (UNSAFE_METHODS.has(method)) {
      const reason = crossOriginReason(headers);
      if (reason) return new ForbiddenError(`cross-origin write refused: ${reason}`, { field: 'origin' });
    }
    return undefined;
  };
}

/** The Host check and the cross-origin write check alone (the scoring server's hot path sends no extra headers). */
export function installHostAndOriginChecks(app: FastifyInstance, options: RequestGuardOptions): void {
  const refusal = hostAndOriginGuard(options);
  // A callback hook, not an async one: it runs on every request, and an async hook costs a promise each.
  app.addHook('onRequest', (request, _reply, done) => {
    const refused = refusal(request.method, request.headers);
    if (refused) done(refused);
    else done();
  });
}

/** nosniff, no framing, no referrer on every reply; the allow-nothing CSP on API replies. */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-resource-policy', 'same-origin');
    const type = String(reply.getHeader('content-type') ?? '');
    if (!reply.hasHeader('content-security-policy') && (isApiPath(request.url) || type.includes('json'))) {
      reply.header('content-security-policy', API_CSP);
    }
    return payload;
  });
}
