import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createdTokenSchema, tokenSchema } from '../../src/auth/index.js';
import { hostAllowList } from '../../src/server/request-guards.js';
import { buildServingApp } from '../../src/server/serving-app.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { nativeErrorSchema, uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * Issue 16, finding 1: with auth off, a page on attacker.example (DNS rebinding, or a plain
 * cross-origin form) created an admin and minted a token that stayed admin once auth was turned on.
 */

const usersCount = async (t: TestApp) => (await t.services.auth.listUsers()).length;

describeEachBackend('a browser cannot drive the server from another site', (getStore) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(getStore(), { SEXTANT_ALLOWED_HOSTS: 'mlflow.internal,*.corp.example' });
  });
  afterAll(() => t.close());

  it('refuses a rebound Host name before anything runs, and stores nothing', async () => {
    const before = await usersCount(t);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { host: 'attacker.example:5005' },
      payload: { name: uniq('mallory'), role: 'admin' },
    });
    expect(res.statusCode).toBe(403);
    expect(nativeErrorSchema.parse(res.json()).error.message).toContain("Host 'attacker.example:5005'");
    const read = await t.app.inject({
      method: 'GET',
      url: '/api/v1/users',
      headers: { host: 'attacker.example' },
    });
    expect(read.statusCode).toBe(403);
    // MLflow's paths answer in MLflow's shape.
    const mlflow = await t.app.inject({
      method: 'GET',
      url: '/api/2.0/mlflow/experiments/search?max_results=1',
      headers: { host: 'attacker.example' },
    });
    expect(mlflow.statusCode).toBe(403);
    expect(mlflow.json()).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    expect(await usersCount(t)).toBe(before);
  });

  it('answers loopback names and the configured names, with or without a port', async () => {
    for (const host of [
      'localhost:5005',
      '127.0.0.1:5005',
      '[::1]:5005',
      'mlflow.internal',
      'a.corp.example:443',
    ]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { host } });
      expect(res.statusCode, host).toBe(200);
    }
    for (const host of ['corp.example', 'mlflow.internal.attacker.example', 'localhost.attacker.example']) {
      const res = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: { host } });
      expect(res.statusCode, host).toBe(403);
    }
  });

  it('refuses writes a browser labels cross-origin, and stores nothing', async () => {
    const before = await usersCount(t);
    const attempts: Record<string, string>[] = [
      { origin: 'http://attacker.example' },
      { origin: 'null' },
      { origin: 'http://localhost:5006' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
    ];
    for (const headers of attempts) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/users',
        headers: { host: 'localhost:5005', ...headers },
        payload: { name: uniq('mallory'), role: 'admin' },
      });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(nativeErrorSchema.parse(res.json()).error.message).toContain('cross-origin write refused');
    }
    // A form post of MLflow's facade is refused the same way.
    const mlflow = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      headers: { host: 'localhost:5005', origin: 'http://attacker.example' },
      payload: { name: uniq('exp') },
    });
    expect(mlflow.statusCode).toBe(403);
    expect(await usersCount(t)).toBe(before);
  });

  it('accepts same-origin browser writes and writes from clients that are not browsers', async () => {
    const same = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { host: 'localhost:5005', origin: 'http://localhost:5005', 'sec-fetch-site': 'same-origin' },
      payload: { name: uniq('alice'), role: 'viewer' },
    });
    expect(same.statusCode, same.body).toBe(201);
    const script = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { host: '127.0.0.1:5005' },
      payload: { name: uniq('bob'), role: 'viewer' },
    });
    expect(script.statusCode, script.body).toBe(201);
  });

  it('sends security headers, and a CSP that allows nothing on API replies', async () => {
    for (const url of ['/api/v1/me', '/api/v1/nothing-here', '/healthz']) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['x-frame-options'], url).toBe('DENY');
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
      expect(String(res.headers['content-security-policy']), url).toContain("default-src 'none'");
      expect(String(res.headers['content-security-policy']), url).toContain("frame-ancestors 'none'");
    }
    const refused = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { host: 'attacker.example' },
    });
    expect(refused.headers['x-content-type-options']).toBe('nosniff');
  });
});

describeEachBackend('tokens minted while auth was off do not survive turning auth on', (getStore) => {
  let off: TestApp;
  let on: TestApp;
  beforeAll(async () => {
    off = await createTestApp(getStore());
    on = await createTestApp(getStore(), { SEXTANT_AUTH: 'token' });
  });
  afterAll(async () => {
    await off.close();
    await on.close();
  });

  it('refuses a token minted over HTTP with auth off, until an admin re-issues it', async () => {
    // What the attacking page did: an admin user, then a token for it, over HTTP with auth off.
    const name = uniq('mallory');
    const user = await off.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      payload: { name, role: 'admin' },
    });
    expect(user.statusCode, user.body).toBe(201);
    const minted = await off.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      payload: { user: name, name: 'x' },
    });
    expect(minted.statusCode, minted.body).toBe(201);
    const offToken = createdTokenSchema.parse(minted.json());
    expect(offToken.token.mintedUnder).toBe('auth-off');

    // The same database, served with auth on.
    const denied = await on.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${offToken.secret}` },
    });
    expect(denied.statusCode).toBe(401);
    expect(nativeErrorSchema.parse(denied.json()).error.message).toContain('minted while auth was off');

    // An admin whose token was minted on the workspace files (the CLI) re-issues it over HTTP.
    const adminName = uniq('root');
    await on.services.auth.createUser({ actor: 'system', name: adminName, role: 'admin' });
    const admin = await on.services.auth.createToken({ actor: 'system', user: adminName, name: 'cli' });
    expect(admin.token.mintedUnder).toBe('local');
    const reissued = await on.app.inject({
      method: 'POST',
      url: `/api/v1/tokens/${offToken.token.id}/reissue`,
      headers: { authorization: `Bearer ${admin.secret}` },
    });
    expect(reissued.statusCode, reissued.body).toBe(201);
    const fresh = createdTokenSchema.parse(reissued.json());
    expect(fresh.token).toMatchObject({
      userId: offToken.token.userId,
      name: 'x',
      mintedUnder: 'authenticated',
    });
    const me = await on.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${fresh.secret}` },
    });
    expect(me.statusCode, me.body).toBe(200);
    // The old secret stays dead (now revoked), and the listing says how each token was minted.
    const old = await on.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${offToken.secret}` },
    });
    expect(old.statusCode).toBe(401);
    const list = await on.app.inject({
      method: 'GET',
      url: `/api/v1/tokens?user=${name}`,
      headers: { authorization: `Bearer ${admin.secret}` },
    });
    const tokens = z.object({ tokens: z.array(tokenSchema) }).parse(list.json()).tokens;
    expect(tokens.map((t) => [t.mintedUnder, t.revokedAt !== null])).toEqual([
      ['auth-off', true],
      ['authenticated', false],
    ]);
  });
});

describe('which Host names a server answers to', () => {
  it('a server on all interfaces answers its own addresses, never a foreign name', () => {
    const allowed = hostAllowList({ listenHost: '0.0.0.0', allowedHosts: [] });
    expect(allowed('127.0.0.1:5005')).toBe(true);
    expect(allowed('localhost')).toBe(true);
    expect(allowed('attacker.example')).toBe(false);
  });
  it('`*` turns the check off (behind a proxy that checks names itself)', () => {
    expect(hostAllowList({ listenHost: '127.0.0.1', allowedHosts: ['*'] })('anything.example')).toBe(true);
  });
  it('a server on a given address answers that address', () => {
    const allowed = hostAllowList({ listenHost: '10.1.2.3', allowedHosts: [] });
    expect(allowed('10.1.2.3:5005')).toBe(true);
    expect(allowed('10.1.2.4:5005')).toBe(false);
  });
});

describeEachBackend(
  'the scoring server (sextant serve) refuses rebound hosts and cross-origin writes',
  (getStore) => {
    let t: TestApp;
    let app: FastifyInstance;
    beforeAll(async () => {
      t = await createTestApp(getStore());
      const model = uniq('scored');
      const admin = { name: 'ada', role: 'admin' } as const;
      await t.services.registry.versions.registerFile({
        actor: admin,
        model,
        filename: 'model.onnx',
        content: tinyOnnxModel([0.5, -0.25, 1]),
      });
      await t.services.registry.aliases.set({ actor: admin, model, alias: 'live', version: 1 });
      const runtime = await t.services.serving.openRuntime({ actor: 'ada', model: `${model}@live` });
      app = await buildServingApp({ services: t.services, runtime });
      await app.ready();
    }, 60_000);
    afterAll(async () => {
      await app.close();
      await t.close();
    });

    it('scores for a local client, refuses a rebound Host and a cross-origin page', async () => {
      const body = { inputs: [[1, 2, 3]] };
      const ok = await app.inject({
        method: 'POST',
        url: '/invocations',
        headers: { host: '127.0.0.1:8080' },
        payload: body,
      });
      expect(ok.statusCode, ok.body).toBe(200);
      const rebound = await app.inject({
        method: 'POST',
        url: '/invocations',
        headers: { host: 'attacker.example:8080' },
        payload: body,
      });
      expect(rebound.statusCode).toBe(403);
      const page = await app.inject({
        method: 'POST',
        url: '/feedback',
        headers: { host: '127.0.0.1:8080', origin: 'http://attacker.example' },
        payload: { predictionId: 'pred_x', label: 1 },
      });
      expect(page.statusCode).toBe(403);
    });
  },
);
