import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workspace } from '../../src/app/index.js';
import { buildApp } from '../../src/server/app.js';
import { deploymentSchema } from '../../src/serving/index.js';
import { cli } from '../support/cli.js';
import {
  creditRecords,
  openHarnessWorkspace,
  prepareServingWorkspace,
  type ServeProcess,
  sleep,
  startServe,
  startServer,
  workspaceEnv,
} from './serving-serve-harness.js';

/*
 * `deployments ls` says whether each deployment is running, where and since when: `sextant serve`,
 * and `sextant server` for the deployments it hosts, beat while they serve and say so when they stop.
 * Read on the workspace and through a server on the same database.
 */

const MODEL = 'credit';

describe('deployments ls: running, where, since when (a heartbeat)', () => {
  let home: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let serve: Omit<ServeProcess, 'version'> | undefined;
  const envs: Record<'local' | 'remote', Record<string, string>> = { local: {}, remote: {} };

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cli-heartbeat-'));
    await prepareServingWorkspace({ home, model: MODEL });
    ws = await openHarnessWorkspace(home);
    app = await buildApp(ws);
    envs.local = { SEXTANT_HOME: home };
    envs.remote = { SEXTANT_HOME: home, SEXTANT_URL: await app.listen({ host: '127.0.0.1', port: 0 }) };
  }, 120_000);
  afterAll(async () => {
    if (serve && serve.child.exitCode === null) serve.child.kill('SIGKILL');
    await app?.close();
    await ws?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('a serving process shows as running at its address; once stopped, as stopped', async () => {
    const list = async (transport: 'local' | 'remote') => {
      const r = await cli(envs[transport], '--json', 'deployments', 'ls');
      expect(r.code, r.err).toBe(0);
      return deploymentSchema.array().parse(JSON.parse(r.out));
    };
    expect((await list('local')).find((d) => d.name === `${MODEL}-champion`)).toBeUndefined();

    serve = await startServe(workspaceEnv(home), ['serve', `${MODEL}@champion`, '--port', '0']);
    for (const transport of ['local', 'remote'] as const) {
      const d = (await list(transport)).find((x) => x.name === `${MODEL}-champion`);
      expect(d?.runtime).toMatchObject({ running: true, address: serve.baseUrl, host: os.hostname() });
      expect(d?.runtime?.pid).toBe(serve.child.pid);
      const table = await cli(envs[transport], 'deployments', 'ls');
      expect(table.out).toMatch(/^NAME\s+MODEL\s+CHALLENGER\s+LEDGER\s+STATE\s+WHERE\s+SINCE/);
      expect(table.out).toContain(`running  ${serve.baseUrl} (${os.hostname()}, pid ${serve.child.pid})`);
    }

    serve.child.kill('SIGTERM');
    expect((await serve.exited).code).toBe(0);
    for (const transport of ['local', 'remote'] as const) {
      const d = (await list(transport)).find((x) => x.name === `${MODEL}-champion`);
      expect(d?.runtime).toMatchObject({ running: false, address: serve.baseUrl });
      expect(d?.runtime?.stoppedAt).toEqual(expect.any(String));
      expect((await cli(envs[transport], 'deployments', 'ls')).out).toMatch(
        /stopped\s+http:\/\/127\.0\.0\.1:\d+/,
      );
    }
  }, 120_000);

  it('a deployment hosted by `sextant server` shows as running at the server once it serves; stopped after', async () => {
    const name = 'credit-hosted';
    await ws.serving.deployments.create({ actor: 'local', name, model: `${MODEL}@champion` });
    const server = await startServer(workspaceEnv(home), ['--port', '0']);
    serve = server;
    const runtimeOf = async (transport: 'local' | 'remote') => {
      const r = await cli(envs[transport], '--json', 'deployments', 'ls');
      expect(r.code, r.err).toBe(0);
      return deploymentSchema
        .array()
        .parse(JSON.parse(r.out))
        .find((d) => d.name === name)?.runtime;
    };
    // Hosted runtimes open on their first request: until then this server serves nothing of it.
    expect(await runtimeOf('local')).toBeNull();

    const res = await fetch(`${server.baseUrl}/api/v1/deployments/${name}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_records: creditRecords(1) }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    // The first beat is written as the runtime opens, beside the request: wait for it to land.
    for (let i = 0; i < 100 && !(await runtimeOf('local'))?.running; i++) await sleep(100);
    for (const transport of ['local', 'remote'] as const) {
      const rt = await runtimeOf(transport);
      expect(rt).toMatchObject({ running: true, address: server.baseUrl, host: os.hostname() });
      expect(rt?.pid).toBe(server.child.pid);
      expect((await cli(envs[transport], 'deployments', 'ls')).out).toContain(
        `running  ${server.baseUrl} (${os.hostname()}, pid ${server.child.pid})`,
      );
    }

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    for (const transport of ['local', 'remote'] as const) {
      const rt = await runtimeOf(transport);
      expect(rt).toMatchObject({ running: false, address: server.baseUrl });
      expect(rt?.stoppedAt).toEqual(expect.any(String));
    }
  }, 120_000);
});
