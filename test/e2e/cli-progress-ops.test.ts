import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { buildApp } from '../../src/server/app.js';
import { createTestDatabase } from '../support/backends.js';
import { runOnTerminal as run } from '../support/cli.js';
import { postgresUrl, serviceAvailable } from '../support/services.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * The progress lines of cli-progress.test.ts on the other long operations: monitor run (monitors
 * done, rows read), predictions export (rows and bytes streamed), ci on a pipeline (steps done),
 * report compliance --pdf (a step line while chromium renders), gc (a step line while it scans) and
 * store migrate (tables copied). On a terminal they draw on stderr's line; piped or with --json,
 * nothing. The terminal is an Output that is interactive and draws at once.
 */

/** On a terminal: a line of `phase` matching `last` at the end, then the line ended; piped and --json: none. */
async function expectProgress(
  env: Record<string, string>,
  argv: () => string[],
  phase: string,
  last: RegExp,
) {
  const shown = await run(env, true, ...argv());
  expect(shown.code, shown.err).toBe(0);
  const lines = shown.progress.filter((l) => l.startsWith(phase));
  expect(lines.at(-1), shown.progress.join('\n')).toMatch(last);
  expect(shown.progress.at(-1)).toBe('<end>');
  expect(shown.out).not.toContain(phase);
  const piped = await run(env, false, ...argv());
  expect(piped.code, piped.err).toBe(0);
  expect(piped.progress).toEqual([]);
  const json = await run(env, true, '--json', ...argv());
  expect(json.code, json.err).toBe(0);
  expect(json.progress).toEqual([]);
  return shown;
}

describe('progress on monitor run, predictions export, ci, report --pdf and gc', () => {
  let home: string;
  let ws: Workspace;
  let app: FastifyInstance;
  const envs: Record<'local' | 'remote', Record<string, string>> = { local: {}, remote: {} };
  let deployment: string;
  let model: string;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cli-progress-ops-'));
    envs.local = { SEXTANT_HOME: home };
    ws = await openWorkspace(loadConfig(envs.local));
    app = await buildApp(ws);
    envs.remote = { SEXTANT_HOME: home, SEXTANT_URL: await app.listen({ host: '127.0.0.1', port: 0 }) };
    model = uniq('tiny');
    const admin = { name: 'ada', role: 'admin' as const };
    await ws.registry.versions.registerFile({
      actor: admin,
      model,
      filename: 'model.onnx',
      content: tinyOnnxModel(),
    });
    await ws.registry.aliases.set({ actor: admin, model, alias: 'live', version: 1 });
    deployment = uniq('watched');
    await ws.serving.deployments.create({ actor: 'ada', name: deployment, model: `${model}@live` });
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/deployments/${deployment}/predict`,
      payload: Array.from({ length: 40 }, (_, i) => [i, i % 7, -i]),
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    for (const name of ['first', 'second'])
      await ws.monitoring.monitors.create({
        actor: 'ada',
        deployment,
        spec: `name: ${name}\nwindow: 2h\nreference: { source: traffic, rows: 10 }\n`,
      });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await ws?.serving.close();
    await ws?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] monitor run counts monitors and rows; predictions export counts rows and bytes`, async () => {
      const env = envs[transport];
      await expectProgress(
        env,
        () => ['monitor', 'run', deployment],
        'monitoring',
        /^monitoring\s+\[#{20}\] 100%\s+2\/2 monitors\s+second: \d+ rows$/,
      );
      const shown = await expectProgress(
        env,
        () => [
          'predictions',
          'export',
          deployment,
          '--format',
          'jsonl',
          '--out',
          path.join(home, `${uniq('p')}.jsonl`),
        ],
        'exporting',
        /^exporting\s+40 rows\s+[\d.]+ KiB\s+\d+s$/,
      );
      expect(shown.err).toContain(`exported 40 predictions of ${deployment}`);
      // To stdout, the progress stays on stderr's line and the rows are the same as piped.
      const csv = await run(env, true, 'predictions', 'export', deployment);
      expect(csv.progress.filter((l) => l.startsWith('exporting')).at(-1)).toMatch(/^exporting\s+40 rows\s/);
      expect(csv.out.split('\n').filter(Boolean)).toHaveLength(41);
      expect(csv.out).toBe((await run(env, false, 'predictions', 'export', deployment)).out);

      await expectProgress(env, () => ['gc'], 'scanning', /^scanning\s+[|/\\-]\s+blobs no dataset.*\s\d+s$/);
    });
  }

  it('[local] ci on a pipeline counts its steps; report compliance --pdf shows a line while chromium renders', async () => {
    const env = envs.local;
    const file = path.join(home, 'ci.yaml');
    fs.writeFileSync(
      file,
      `name: ${uniq('ci')}\nsteps:\n  one: { run: echo one }\n  two: { needs: [one], run: echo two }\n`,
    );
    await expectProgress(
      env,
      () => ['ci', file, '--force'],
      'running',
      /^running\s+\[#{20}\] 100%\s+2\/2 steps$/,
    );
    const pdf = () => ['report', 'compliance', `${model}@live`, '--pdf', path.join(home, `${uniq('r')}.pdf`)];
    const shown = await expectProgress(
      env,
      pdf,
      'rendering',
      /^rendering\s+[|/\\-]\s+\S+\.pdf in chromium\s+\d+s$/,
    );
    expect(shown.progress.some((l) => l.startsWith('gathering'))).toBe(true);
  });
});

describe('progress on store migrate', async () => {
  if (!(await serviceAvailable('postgres', postgresUrl, 5432))) {
    describe.skip('postgres unavailable', () => it('counts the tables copied', () => {}));
    return;
  }
  it('counts the tables copied on a terminal, nothing when piped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-migrate-progress-'));
    const env = { SEXTANT_HOME: dir };
    const targets = [await createTestDatabase('postgres'), await createTestDatabase('postgres')];
    try {
      expect((await run(env, false, 'experiments', 'create', uniq('moved'))).code).toBe(0);
      const shown = await run(env, true, 'store', 'migrate', '--to', targets[0]!.url);
      expect(shown.code, shown.err).toBe(0);
      expect(shown.progress.filter((l) => l.startsWith('copying')).at(-1)).toMatch(
        /^copying\s+\[#{20}\] 100%\s+(\d+)\/\1 tables\s+\S+: \d+ rows$/,
      );
      expect(shown.progress.some((l) => l.startsWith('verifying'))).toBe(true);
      expect(shown.progress.at(-1)).toBe('<end>');
      const piped = await run(env, false, 'store', 'migrate', '--to', targets[1]!.url);
      expect(piped.code, piped.err).toBe(0);
      expect(piped.progress).toEqual([]);
    } finally {
      for (const t of targets) await t.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
