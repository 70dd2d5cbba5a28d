import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { buildApp } from '../../src/server/app.js';
import { runSchema } from '../../src/tracking/index.js';
import { cli } from '../support/cli.js';

describe('sextant CLI: the same commands locally and against a server', () => {
  let home: string;
  let serverHome: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let url: string;
  let local: Record<string, string>;
  let remote: Record<string, string>;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cli-'));
    serverHome = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cli-server-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: serverHome }));
    app = await buildApp(ws);
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    local = { SEXTANT_HOME: home };
    remote = { SEXTANT_HOME: home, SEXTANT_URL: url };
  });
  afterAll(async () => {
    await app.close();
    await ws.close();
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(serverHome, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] creates, lists and shows experiments and runs, in tables and in --json`, async () => {
      const env = transport === 'local' ? local : remote;
      const created = await cli(
        env,
        '--json',
        'experiments',
        'create',
        `cli-${transport}`,
        '--tag',
        'team=risk',
      );
      expect(created.code).toBe(0);
      const exp = JSON.parse(created.out) as { id: string; name: string; tags: Record<string, string> };
      expect(exp).toMatchObject({ name: `cli-${transport}`, tags: { team: 'risk' } });

      const table = await cli(env, 'experiments');
      expect(table.code).toBe(0);
      expect(table.out).toMatch(/^ID\s+NAME\s+STAGE\s+CREATED/);
      expect(table.out).toContain(`cli-${transport}`);

      const run = await cli(
        env,
        '--json',
        'run',
        '-e',
        `cli-${transport}`,
        '-p',
        'lr=0.1',
        '--',
        process.execPath,
        '-e',
        'console.log("hi")',
      );
      expect(run.code).toBe(0);
      const summary = JSON.parse(run.out.trim().split('\n').at(-1)!) as {
        runId: string;
        status: string;
        exitCode: number;
      };
      expect(summary).toMatchObject({ status: 'FINISHED', exitCode: 0 });

      const shown = await cli(env, '--json', 'runs', 'show', summary.runId);
      const parsed = runSchema.extend({}).passthrough().parse(JSON.parse(shown.out));
      expect(parsed.params.lr).toBe('0.1');
      expect(parsed.command).toContain('console.log');

      const listed = await cli(env, 'runs', 'ls', '-e', `cli-${transport}`, '--filter', "params.lr = '0.1'");
      expect(listed.out).toContain(summary.runId);
      expect(listed.out).toContain('FINISHED');
    });
  }

  it('prints the same JSON for the same data whichever transport reads it', async () => {
    const created = await cli(remote, '--json', 'experiments', 'create', 'same-output');
    const id = (JSON.parse(created.out) as { id: string }).id;
    // The remote CLI and the server's own workspace (read in-process) must agree byte for byte.
    const viaHttp = await cli(remote, '--json', 'experiments', 'show', id);
    const inProcess = await cli({ SEXTANT_HOME: serverHome }, '--json', 'experiments', 'show', id);
    expect(viaHttp.out).toBe(inProcess.out);
  });

  it('`run --` records exit code, output, times and passes the run id and tracking URI to the child', async () => {
    const script = [
      'const uri = process.env.MLFLOW_TRACKING_URI;',
      'const id = process.env.MLFLOW_RUN_ID;',
      'if (id !== process.env.SEXTANT_RUN_ID) process.exit(9);',
      "const r = await fetch(uri + '/api/2.0/mlflow/runs/log-metric', { method: 'POST', headers: { 'content-type': 'application/json' },",
      "  body: JSON.stringify({ run_id: id, key: 'child_metric', value: 42, timestamp: Date.now(), step: 0 }) });",
      "console.log('child says', r.status); console.error('to stderr'); process.exit(3);",
    ].join('\n');
    const res = await cli(
      local,
      '--json',
      'run',
      '-e',
      'child-exp',
      '--',
      process.execPath,
      '--input-type=module',
      '-e',
      script,
    );
    expect(res.code).toBe(3);
    const summary = JSON.parse(res.out.trim().split('\n').at(-1)!) as {
      runId: string;
      status: string;
      exitCode: number;
      wallSeconds: number;
    };
    expect(summary).toMatchObject({ status: 'FAILED', exitCode: 3 });
    expect(summary.wallSeconds).toBeGreaterThan(0);

    const run = runSchema
      .passthrough()
      .parse(JSON.parse((await cli(local, '--json', 'runs', 'show', summary.runId)).out));
    const metric = (k: string) => run.metrics.find((m) => m.key === k)?.value;
    expect(metric('child_metric')).toBe(42);
    expect(metric('sextant.exit_code')).toBe(3);
    expect(metric('sextant.wall_time_s')).toBeGreaterThan(0);
    expect(run.tags['sextant.exit_code']).toBe('3');
    expect(run.status).toBe('FAILED');

    const ws2 = await openWorkspace(loadConfig(local));
    try {
      const out = await ws2.artifacts.get(summary.runId, 'logs/stdout.txt');
      const chunks: Buffer[] = [];
      for await (const c of out.stream) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('child says 200\n');
      const errLog = await ws2.artifacts.get(summary.runId, 'logs/stderr.txt');
      const errChunks: Buffer[] = [];
      for await (const c of errLog.stream) errChunks.push(c as Buffer);
      expect(Buffer.concat(errChunks).toString()).toBe('to stderr\n');
    } finally {
      await ws2.close();
    }
  });

  it('`run --` against a server with auth on hands the token to the child', async () => {
    const authHome = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cli-auth-'));
    const authWs = await openWorkspace(loadConfig({ SEXTANT_HOME: authHome, SEXTANT_AUTH: 'token' }));
    const authApp = await buildApp(authWs);
    try {
      const authUrl = await authApp.listen({ host: '127.0.0.1', port: 0 });
      await authWs.auth.createUser({ actor: 'test', name: 'alice', role: 'editor' });
      const { secret } = await authWs.auth.createToken({ actor: 'test', user: 'alice', name: 'cli' });
      const script = [
        "const r = await fetch(process.env.MLFLOW_TRACKING_URI + '/api/2.0/mlflow/runs/log-metric', { method: 'POST',",
        "  headers: { 'content-type': 'application/json', authorization: 'Bearer ' + process.env.MLFLOW_TRACKING_TOKEN },",
        "  body: JSON.stringify({ run_id: process.env.MLFLOW_RUN_ID, key: 'authed', value: 1, timestamp: Date.now(), step: 0 }) });",
        'process.exit(r.status === 200 ? 0 : 4);',
      ].join('\n');
      const env = { SEXTANT_HOME: home, SEXTANT_URL: authUrl, SEXTANT_TOKEN: secret };
      const res = await cli(
        env,
        '--json',
        'run',
        '--',
        process.execPath,
        '--input-type=module',
        '-e',
        script,
      );
      expect(res.code).toBe(0);
      const { runId } = JSON.parse(res.out.trim().split('\n').at(-1)!) as { runId: string };
      expect((await authWs.runs.get(runId)).metrics.find((m) => m.key === 'authed')?.value).toBe(1);
    } finally {
      await authApp.close();
      await authWs.close();
      fs.rmSync(authHome, { recursive: true, force: true });
    }
  });

  it('bad input is one readable line and a non-zero exit, with nothing stored', async () => {
    const missing = await cli(local, 'runs', 'show', 'run_doesnotexist');
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/^error: run 'run_doesnotexist' does not exist\n$/);

    const badPair = await cli(local, 'experiments', 'create', 'x-bad', '--tag', 'novalue');
    expect(badPair.code).toBe(2);
    expect(badPair.err).toContain('--tag: expected key=value');
    const after = await cli(local, '--json', 'experiments', 'ls');
    expect(after.out).not.toContain('x-bad');

    const unknown = await cli(local, 'no-such-command');
    expect(unknown.code).toBe(2);

    const unreachable = await cli({ SEXTANT_HOME: home, SEXTANT_URL: 'http://127.0.0.1:9' }, 'experiments');
    expect(unreachable.code).toBe(8);
    expect(unreachable.err).toContain('cannot reach the Sextant server');
  });

  it('server refuses a non-loopback host while auth is off', async () => {
    const res = await cli(local, 'server', '--host', '0.0.0.0', '--port', '0');
    expect(res.code).toBe(2);
    expect(res.err).toContain('binds to loopback only');
  });

  it('audit verify reports OK on the workspace and exit 0', async () => {
    const res = await cli(local, 'audit', 'verify');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/audit chain OK: \d+ entries/);
  });
});
