import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { principalSchema, type Role } from '../../src/auth/index.js';
import type { RouteEntry } from '../../src/server/app.js';
import { isMlflowPath } from '../../src/server/error-handler.js';
import { UI_ROUTES } from '../../src/server/web-ui.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { mlflowError, nativeError, uniq } from './helpers.js';

/** The only API routes anyone may call without a token. */
const PUBLIC_API = ['GET /healthz', 'GET /readyz', 'GET /api/v1/openapi.json'];
/** ... and the web UI's files (index.html under each page prefix, the built assets). */
const PUBLIC = [...PUBLIC_API, ...UI_ROUTES.map((url) => `GET ${url}`)];

/** A concrete URL for a route pattern (the permission check runs before any parameter is looked at). */
function concrete(url: string): string {
  return url.replace(/:[^/]+/g, '1').replace(/\*$/, 'some/file.txt');
}

describeEachBackend('who may call what (SEXTANT_AUTH=token)', (getStore) => {
  let t: TestApp;
  const secrets = {} as Record<Role, string>;
  let revoked: string;

  beforeAll(async () => {
    t = await createTestApp(getStore(), { SEXTANT_AUTH: 'token' });
    for (const role of ['viewer', 'editor', 'approver', 'admin'] as const) {
      const user = await t.services.auth.createUser({ actor: 'system', name: uniq(role), role });
      secrets[role] = (
        await t.services.auth.createToken({ actor: 'system', user: user.name, name: 'e2e' })
      ).secret;
    }
    const editor = await t.services.auth.createUser({
      actor: 'system',
      name: uniq('leaver'),
      role: 'editor',
    });
    const created = await t.services.auth.createToken({ actor: 'system', user: editor.name, name: 'old' });
    await t.services.auth.revokeToken({ actor: 'system', id: created.token.id });
    revoked = created.secret;
  });
  afterAll(() => t.close());

  const routes = (): RouteEntry[] => t.app.routeTable;
  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
  const call = (r: RouteEntry, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: r.method as 'GET',
      url: concrete(r.url),
      headers,
      ...(r.method === 'GET' ? {} : { payload: {} }),
    });
  /** The reply is a 401 or 403 in the shape of the route's API. */
  function expectRefused(res: Awaited<ReturnType<typeof call>>, url: string, status: 401 | 403) {
    if (isMlflowPath(url)) mlflowError(res, status, status === 401 ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED');
    else nativeError(res, status, status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN');
  }

  it('every route declares a permission, and only health, the API document and the web UI files are public', () => {
    expect(routes().length).toBeGreaterThan(50);
    const undeclared = routes()
      .filter((r) => r.permission === undefined)
      .map((r) => `${r.method} ${r.url}`);
    expect(undeclared).toEqual([]);
    const isPublic = routes()
      .filter((r) => r.permission === 'public')
      .map((r) => `${r.method} ${r.url}`);
    expect(isPublic.sort()).toEqual([...PUBLIC].sort());
  });

  it('answers 401 to a call without a token on every route that is not public, in each method', async () => {
    const methods = new Set<string>();
    for (const r of routes().filter((r) => r.permission !== 'public')) {
      expectRefused(await call(r), r.url, 401);
      methods.add(r.method);
    }
    expect([...methods].sort()).toEqual(['DELETE', 'GET', 'PATCH', 'POST', 'PUT']);
    for (const url of PUBLIC_API)
      expect((await t.app.inject({ method: 'GET', url: url.slice(4) })).statusCode, url).toBe(200);
  });

  it('lets each role through exactly the routes its permissions cover', async () => {
    const grants: Record<Role, string[]> = {
      viewer: ['read'],
      editor: ['read', 'write'],
      approver: ['read', 'approve'],
      admin: ['read', 'write', 'approve', 'admin'],
    };
    for (const [role, allowed] of Object.entries(grants) as [Role, string[]][]) {
      for (const r of routes().filter((r) => r.permission !== 'public')) {
        const res = await call(r, bearer(secrets[role]));
        if (allowed.includes(r.permission ?? '')) {
          expect([401, 403], `${role} ${r.method} ${r.url}: ${res.body}`).not.toContain(res.statusCode);
        } else {
          expectRefused(res, r.url, 403);
        }
      }
    }
  });

  it('a viewer reads but cannot write; an editor writes; only an admin manages users, tokens and the audit log', async () => {
    const name = uniq('exp');
    const viewer = bearer(secrets.viewer);
    const editor = bearer(secrets.editor);
    const admin = bearer(secrets.admin);
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/experiments', headers: viewer })).statusCode,
    ).toBe(200);
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/2.0/mlflow/experiments/search', headers: viewer }))
        .statusCode,
    ).toBe(200);
    nativeError(
      await t.app.inject({ method: 'POST', url: '/api/v1/experiments', headers: viewer, payload: { name } }),
      403,
      'FORBIDDEN',
    );
    mlflowError(
      await t.app.inject({
        method: 'POST',
        url: '/api/2.0/mlflow/experiments/create',
        headers: viewer,
        payload: { name },
      }),
      403,
      'PERMISSION_DENIED',
    );
    expect(await t.services.experiments.findByName(name)).toBeUndefined();

    expect(
      (await t.app.inject({ method: 'POST', url: '/api/v1/experiments', headers: editor, payload: { name } }))
        .statusCode,
    ).toBe(201);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      headers: editor,
      payload: { name: `${name}-2` },
    });
    expect(created.statusCode, created.body).toBe(200);
    const me = principalSchema.parse(
      (await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: editor })).json(),
    );
    expect(me.role).toBe('editor');

    for (const headers of [viewer, editor]) {
      nativeError(await t.app.inject({ method: 'GET', url: '/api/v1/users', headers }), 403, 'FORBIDDEN');
      nativeError(
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/tokens',
          headers,
          payload: { user: me.name, name: 'x' },
        }),
        403,
        'FORBIDDEN',
      );
      nativeError(await t.app.inject({ method: 'GET', url: '/api/v1/audit', headers }), 403, 'FORBIDDEN');
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/users', headers: admin })).statusCode).toBe(
      200,
    );
    const token = await t.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: admin,
      payload: { user: me.name, name: uniq('t') },
    });
    expect(token.statusCode, token.body).toBe(201);
    const audit = await t.app.inject({
      method: 'GET',
      url: `/api/v1/audit?entityType=experiment`,
      headers: admin,
    });
    const entries = z
      .object({ entries: z.array(z.object({ actor: z.string(), action: z.string() })) })
      .parse(audit.json()).entries;
    expect(entries.some((e) => e.action === 'experiment.create' && e.actor === me.name)).toBe(true);
  });

  it('refuses a revoked token, an unknown token and a malformed header with 401', async () => {
    for (const headers of [
      bearer(revoked),
      bearer('sxt_not-a-real-token-0000000000000000000000000'),
      { authorization: 'Bearer' },
      { authorization: 'Token abc' },
    ]) {
      nativeError(
        await t.app.inject({ method: 'GET', url: '/api/v1/experiments', headers }),
        401,
        'UNAUTHENTICATED',
      );
      mlflowError(
        await t.app.inject({ method: 'GET', url: '/api/2.0/mlflow/experiments/search', headers }),
        401,
        'UNAUTHENTICATED',
      );
    }
  });

  it("accepts MLflow clients' Basic auth with the token as the password", async () => {
    const basic = (user: string, password: string) => ({
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      headers: basic('anyone', secrets.editor),
      payload: { name: uniq('basic') },
    });
    expect(res.statusCode, res.body).toBe(200);
    const viewerWrite = await t.app.inject({
      method: 'POST',
      url: '/api/2.0/mlflow/experiments/create',
      headers: basic('anyone', secrets.viewer),
      payload: { name: uniq('basic') },
    });
    mlflowError(viewerWrite, 403, 'PERMISSION_DENIED');
    mlflowError(
      await t.app.inject({
        method: 'GET',
        url: '/api/2.0/mlflow/experiments/search',
        headers: basic('anyone', revoked),
      }),
      401,
      'UNAUTHENTICATED',
    );
    mlflowError(
      await t.app.inject({
        method: 'GET',
        url: '/api/2.0/mlflow/experiments/search',
        headers: basic(secrets.editor, ''),
      }),
      401,
      'UNAUTHENTICATED',
    );
  });
});
