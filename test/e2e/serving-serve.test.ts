import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { cli } from '../support/cli.js';
import {
  creditRecords,
  prepareServingWorkspace,
  type ServeProcess,
  sleep,
  startServe,
  workspaceEnv,
} from './serving-serve-harness.js';

/*
 * `sextant serve` as a user runs it: what it refuses before it listens (each refusal names the flag),
 * the deployment record it creates and then reuses, what it prints, and its health endpoints.
 */

const MODEL = 'credit';

// Child processes start slowly on a loaded machine (tsx compiles the CLI as it loads): room, not a timing.
describe('sextant serve', { timeout: 90_000 }, () => {
  let home: string;
  let env: Record<string, string>;
  const running: ServeProcess[] = [];

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-serving-serve-'));
    env = workspaceEnv(home);
    await prepareServingWorkspace({ home, model: MODEL, versions: 2 });
  });

  afterAll(async () => {
    for (const s of running)
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    await Promise.all(running.map((s) => s.exited));
    fs.rmSync(home, { recursive: true, force: true });
  });

  async function serve(...args: string[]): Promise<ServeProcess> {
    const s = await startServe(env, ['serve', ...args]);
    running.push(s);
    return s;
  }

  async function stop(s: ServeProcess): Promise<number | null> {
    s.child.kill('SIGTERM');
    return (await s.exited).code;
  }

  it.each([
    [['credit'], 'model', /must look like <model>@<alias>/],
    [['credit@champion', '--port', 'http'], '--port', /not a port number/],
    [['credit@champion', '--host', '0.0.0.0'], '--host', /no authentication.*--allow-remote/],
    [['credit@champion', '--ledger', 'fast'], '--ledger', /durable or async/],
    [['credit@champion', '--poll-interval', '2'], '--poll-interval', /not an interval/],
    [['credit@champion', '--percent', '10'], '--percent', /only a --canary/],
    [['credit@champion', '--canary', '2'], '--percent', /needs the share/],
    [['credit@champion', '--shadow', '2', '--canary', '2', '--percent', '5'], '--canary', /one challenger/],
    [['credit@champion', '--name', '-bad'], '--name', /not a deployment name/],
  ])('refuses %j before listening (exit 2, names %s)', async (args, field, message) => {
    const r = await cli({ SEXTANT_HOME: home }, 'serve', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toContain(field === 'model' ? 'model' : field);
  });

  it('refuses to run against SEXTANT_URL: it needs the workspace itself', async () => {
    const r = await cli(
      { SEXTANT_HOME: home, SEXTANT_URL: 'http://127.0.0.1:9' },
      'serve',
      'credit@champion',
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/SEXTANT_URL is set.*database and blob store/);
  });

  it('refuses a model ref that does not resolve, and creates no deployment', async () => {
    const r = await cli({ SEXTANT_HOME: home }, 'serve', 'credit@nosuchalias', '--port', '0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/credit@nosuchalias/);
    const ws = await openWorkspace(loadConfig({ SEXTANT_HOME: home, SEXTANT_LOG_LEVEL: 'silent' }));
    try {
      expect(await ws.serving.deployments.find('credit-nosuchalias')).toBeUndefined();
    } finally {
      await ws.close();
    }
  });

  it('creates the deployment <model>-<alias>, prints where and what it serves, answers health checks, stops on SIGTERM with exit 0', async () => {
    const s = await serve(
      `${MODEL}@champion`,
      '--port',
      '0',
      '--ledger',
      'async',
      '--flush-interval',
      '300ms',
    );
    expect(s.version).toBe(1);
    const out = s.output();
    expect(out).toMatch(/deployment: credit-champion \(dep_\w+, created\)/);
    expect(out).toMatch(/following alias 'champion'/);
    expect(out).toMatch(/async .*a crash loses at most the last 300 ms/);
    expect(out).toMatch(/loopback only/);

    expect((await fetch(`${s.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${s.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ deployment: 'credit-champion', version: 1 });
    const reply = await fetch(`${s.baseUrl}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_records: creditRecords(2) }),
    });
    expect(reply.status).toBe(200);
    const body = (await reply.json()) as { predictions: { prediction_id: string; version: number }[] };
    expect(body.predictions).toHaveLength(2);
    expect(body.predictions[0]).toMatchObject({ version: 1, model: MODEL });

    expect(await stop(s)).toBe(0);
    expect(s.output()).toMatch(/SIGTERM - draining/);
  });

  it('reuses the deployment on the next start (its ledger mode is kept unless --ledger changes it); another ref under that name is a conflict', async () => {
    const again = await serve(`${MODEL}@champion`, '--port', '0');
    expect(again.output()).toMatch(/deployment: credit-champion \(dep_\w+, reused\)/);
    expect(again.output()).toMatch(/ledger: +async/);
    expect(await stop(again)).toBe(0);

    const pinned = await cli(
      { SEXTANT_HOME: home },
      'serve',
      `${MODEL}@2`,
      '--port',
      '0',
      '--name',
      'credit-champion',
    );
    expect(pinned.code).toBe(4);
    expect(pinned.err).toMatch(/deployment 'credit-champion' (serves|follows) credit@champion/);
  });

  it('a pinned version gets the deployment <model>-v<n>; a shadow challenger is loaded and named; --json prints the address as JSON', async () => {
    const s = await serve(`${MODEL}@2`, '--port', '0', '--shadow', 'champion');
    expect(s.version).toBe(2);
    expect(s.output()).toMatch(/deployment: credit-v2 \(dep_\w+, created\)/);
    expect(s.output()).toMatch(/pinned/);
    expect(s.output()).toMatch(/challenger: credit@champion \(v1\), shadow/);
    expect(await stop(s)).toBe(0);

    const j = await startServe(env, ['--json', 'serve', `${MODEL}@2`, '--port', '0']);
    running.push(j);
    // The JSON goes to stdout, the serving line (which startServe waits for) to stderr.
    const jsonLine = () =>
      j
        .output()
        .split('\n')
        .find((l) => l.startsWith('{'));
    for (let i = 0; i < 100 && !jsonLine(); i++) await sleep(50);
    expect(JSON.parse(jsonLine()!)).toMatchObject({
      url: j.baseUrl,
      version: 2,
      ledger: 'durable',
      deployment: { name: 'credit-v2' },
    });
    expect(await stop(j)).toBe(0);
  });
});
