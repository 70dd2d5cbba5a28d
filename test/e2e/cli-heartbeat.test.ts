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
  openHarnessWorkspace,
  prepareServingWorkspace,
  type ServeProcess,
  startServe,
  workspaceEnv,
} from './serving-serve-harness.js';

/*
 * `deployments ls` says whether each deployment is running, where and since when: `sextant serve`
 * beats while it serves and says so when it stops. Read on the workspace and through a server on the
 * same database.
 */

const MODEL = 'credit';

describe('deployments ls: running, where, since when (a heartbeat)', () => {
  let home: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let serve: ServeProcess | undefined;
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
});
