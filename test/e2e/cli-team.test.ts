import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { buildApp } from '../../src/server/app.js';
import { cli } from '../support/cli.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * The README's recipe for a team: one server with auth on, a token per person, every command given
 * --url and --token (in any position). The registry then credits each person with what they did:
 * `models history` names who requested a move and who approved it.
 */

describe('a team on one server: a token per person', () => {
  let dir: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let url: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cli-team-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: path.join(dir, 'server'), SEXTANT_AUTH: 'token' }));
    app = await buildApp(ws);
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    for (const [name, role] of [
      ['alice', 'editor'],
      ['bob', 'approver'],
    ] as const) {
      await ws.auth.createUser({ actor: 'setup', name, role });
      tokens[name] = (await ws.auth.createToken({ actor: 'setup', user: name, name: 'laptop' })).secret;
    }
  });
  afterAll(async () => {
    await app.close();
    await ws.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('alice requests, bob approves; history credits both, and a missing token is refused', async () => {
    const env = { SEXTANT_HOME: path.join(dir, 'laptop') };
    const as = (who: string) => ['--url', url, '--token', tokens[who]!];
    const onnx = path.join(dir, 'model.onnx');
    fs.writeFileSync(onnx, tinyOnnxModel([0.5, 0.1, 0.2]));

    const anonymous = await cli(env, 'models', 'ls', '--url', url);
    expect(anonymous.code).toBe(5);

    expect((await cli(env, 'models', 'register', 'risk', '--file', onnx, ...as('alice'))).code).toBe(0);
    const opened = await cli(
      env,
      '--json',
      'models',
      'promote',
      'risk@1',
      '--alias',
      'champion',
      ...as('alice'),
    );
    expect(opened.code, opened.err).toBe(0);
    const request = JSON.parse(opened.out) as { id: string; status: string; requestedBy: string };
    expect(request).toMatchObject({ status: 'pending', requestedBy: 'alice' });

    const approved = await cli(env, 'models', 'approve', request.id, '-m', 'looks good', ...as('bob'));
    expect(approved.code, approved.err).toBe(0);
    expect(approved.out).toMatch(/status\s+executed/);

    const history = await cli(env, 'models', 'history', 'risk', ...as('bob'));
    expect(history.code, history.err).toBe(0);
    const [header, , row] = history.out.split('\n');
    expect(header).toMatch(/KIND\s+REQUESTED BY\s+APPROVED BY\s+WHY/);
    expect(row).toMatch(/champion\s+-\s+1\s+promote\s+alice\s+bob/);
  });

  it('a bad token exits 5 (unauthenticated), a role that may not do it 6 (forbidden), JSON alike', async () => {
    const env = { SEXTANT_HOME: path.join(dir, 'laptop') };
    const bad = await cli(env, 'experiments', 'ls', '--url', url, '--token', 'not-a-token');
    expect(bad.code).toBe(5);
    const forbidden = await cli(env, 'experiments', 'create', 'bobs', '--url', url, '--token', tokens.bob!);
    expect(forbidden.code, forbidden.err).toBe(6);
    expect(forbidden.err).toContain("error: role 'approver' lacks the 'write' permission");
    const json = await cli(
      env,
      '--json',
      'experiments',
      'create',
      'bobs',
      '--url',
      url,
      '--token',
      tokens.bob!,
    );
    expect(JSON.parse(json.err)).toMatchObject({ error: { code: 'FORBIDDEN', exitCode: 6 } });
  });
});
