import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandlers } from './error-handler.js';
import { registerWebUi, UI_CONTENT_SECURITY_POLICY, UI_PAGES } from './web-ui.js';

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/index-abc.js"></script></head></html>';

async function appOver(distDir: string): Promise<FastifyInstance> {
  const app = Fastify();
  installErrorHandlers(app);
  registerWebUi(app, { distDir });
  app.get('/api/v1/things', async () => ({ things: [] }));
  await app.ready();
  return app;
}

describe('the web UI at /', () => {
  let dist: string;
  let app: FastifyInstance;
  beforeAll(async () => {
    dist = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-webui-'));
    fs.mkdirSync(path.join(dist, 'assets'));
    fs.writeFileSync(path.join(dist, 'index.html'), INDEX);
    fs.writeFileSync(path.join(dist, 'assets/index-abc.js'), 'console.log(1)');
    fs.writeFileSync(path.join(dist, 'secret.txt'), 'not an asset');
    app = await appOver(dist);
  });
  afterAll(async () => {
    await app.close();
    fs.rmSync(dist, { recursive: true, force: true });
  });

  it('answers index.html at / and at every deep link, with a CSP that allows no inline script', async () => {
    for (const url of [
      '/',
      ...UI_PAGES.map((p) => `/${p}`),
      '/models/credit/versions/3',
      '/runs/run_01x?tab=a',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['content-security-policy']).toBe(UI_CONTENT_SECURITY_POLICY);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(UI_CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(UI_CONTENT_SECURITY_POLICY).not.toContain('unsafe');
  });

  it('serves built assets with their type and a long cache, and nothing outside assets/', async () => {
    const js = await app.inject({ method: 'GET', url: '/assets/index-abc.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toContain('immutable');
    for (const url of [
      '/assets/../secret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/missing.js',
      '/secret.txt',
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('not an asset');
    }
  });

  it('leaves /api to the API: known routes answer, unknown ones get the JSON 404', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v1/things' })).json()).toEqual({ things: [] });
    const missing = await app.inject({ method: 'GET', url: '/api/v1/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(missing.headers['content-security-policy']).toBeUndefined();
  });

  it('says how to build the UI when web/dist is missing', async () => {
    const bare = await appOver(path.join(dist, 'nowhere'));
    const res = await bare.inject({ method: 'GET', url: '/models' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build:web');
    await bare.close();
  });
});
