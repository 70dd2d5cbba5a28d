import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/*
 * The web UI (web/, built by Vite into web/dist by `npm ci`'s prepare script) served at /.
 * Deep links are real paths (/runs/run_01.../, /models/credit/versions/3): each page prefix below
 * answers index.html and the UI routes in the browser. Only these prefixes and /assets are claimed,
 * so /api, /healthz, /readyz and /metrics answer exactly as before (an unknown /api path is still the
 * API's 404, behind authentication). The UI files are public; every call they make is authenticated.
 */

/** The first path segment of every page of the UI (each answers index.html, with and without a tail). */
export const UI_PAGES = [
  'experiments',
  'runs',
  'compare',
  'models',
  'promotions',
  'datasets',
  'deployments',
  'predictions',
  'lineage',
  'audit',
  'pipelines',
  'cost',
  'signin',
] as const;

/** The route patterns the UI claims (the permission test lists them as public). */
export const UI_ROUTES: readonly string[] = [
  '/',
  '/assets/*',
  ...UI_PAGES.flatMap((p) => [`/${p}`, `/${p}/*`]),
];

/**
 * No inline script or style element runs; scripts, styles and fetches come from this origin only.
 * Styles set through the CSSOM (React's style prop, uPlot) are not inline markup and stay allowed.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** web/dist from the source tree (src/server) or from the compiled one (dist/src/server). */
function defaultDistDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../web/dist'), path.resolve(here, '../../../web/dist')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html'))) ?? candidates[0]!;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', UI_CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

/** Serves the built UI at / and its deep links; answers 503 with a hint when web/dist was not built. */
export function registerWebUi(app: FastifyInstance, options: { distDir?: string } = {}): void {
  const distDir = options.distDir ?? defaultDistDir();
  const assetsDir = path.join(distDir, 'assets');
  const config = { permission: 'public' as const };
  const schema = { hide: true };

  const sendIndex = async (reply: FastifyReply) => {
    const index = await fs.promises.readFile(path.join(distDir, 'index.html')).catch(() => undefined);
    secure(reply).header('cache-control', 'no-cache');
    if (!index) {
      return reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('The Sextant web UI is not built: run `npm run build:web` (npm ci runs it), then reload.');
    }
    return reply.type(TYPES['.html']!).send(index);
  };

  for (const url of UI_ROUTES) {
    if (url === '/assets/*') continue;
    app.route({ method: 'GET', url, config, schema, handler: (_req, reply) => sendIndex(reply) });
  }

  app.route({
    method: 'GET',
    url: '/assets/*',
    config,
    schema,
    handler: async (req, reply) => {
      const rel = (req.params as { '*': string })['*'];
      const file = path.resolve(assetsDir, rel);
      // Hashed file names only, inside assets/: no traversal, no directories.
      if (!file.startsWith(assetsDir + path.sep) || rel.includes('\0')) return reply.callNotFound();
      const body = await fs.promises.readFile(file).catch(() => undefined);
      if (!body) return reply.callNotFound();
      return secure(reply)
        .header('cache-control', 'public, max-age=31536000, immutable')
        .type(TYPES[path.extname(file)] ?? 'application/octet-stream')
        .send(body);
    },
  });
}
