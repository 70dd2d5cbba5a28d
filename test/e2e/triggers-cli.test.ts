// biome-ignore-all lint/suspicious/noTemplateCurlyInString: trigger params are written in the ${{ }} syntax on purpose
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { exitCodes } from '../../src/cli/exit-codes.js';
import { loadConfig } from '../../src/core/config.js';
import { fireResultSchema, triggerSchema } from '../../src/pipelines/triggers/index.js';
import { buildApp } from '../../src/server/app.js';
import { cli } from '../support/cli.js';

describe('sextant triggers: create, ls, show, fire, rm, in-process and against a server', () => {
  let dir: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let envs: Record<'local' | 'remote', Record<string, string>>;
  const file = (name: string, content: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-triggers-cli-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: path.join(dir, 'server') }));
    app = await buildApp(ws);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    envs = {
      local: { SEXTANT_HOME: path.join(dir, 'local') },
      remote: { SEXTANT_HOME: path.join(dir, 'client'), SEXTANT_URL: url },
    };
  });
  afterAll(async () => {
    await app.close();
    await ws.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const where of ['local', 'remote'] as const) {
    it(`${where}: a trigger file is created, listed, fired with its key once, and removed`, async () => {
      const env = envs[where];
      const name = `new-credit-data-${where}`;
      const spec = file(
        `${name}.yaml`,
        [
          `name: ${name}`,
          'pipeline: continuous-training',
          'on:',
          '  dataset: credit-*',
          'params:',
          '  dataset: ${{ event.dataset }}@${{ event.version }}',
          'concurrency: skip',
        ].join('\n'),
      );
      const created = await cli(env, '--json', 'triggers', 'create', '-f', spec);
      expect(created.code, created.err).toBe(0);
      const t = triggerSchema.parse(JSON.parse(created.out));
      expect(t).toMatchObject({ name, kind: 'dataset', concurrency: 'skip', on: { dataset: 'credit-*' } });

      const ls = await cli(env, 'triggers', 'ls');
      expect(ls.out).toContain(name);
      expect(ls.out).toContain('dataset credit-*');

      const fired = await cli(
        env,
        '--json',
        'triggers',
        'fire',
        name,
        '--key',
        'b1',
        '--event',
        '{"dataset":"credit-x","version":2}',
      );
      expect(fired.code, fired.err).toBe(0);
      const first = fireResultSchema.parse(JSON.parse(fired.out));
      expect(first.duplicate).toBe(false);
      expect(first.firing.params).toEqual({ dataset: 'credit-x@2' });
      const again = fireResultSchema.parse(
        JSON.parse((await cli(env, '--json', 'triggers', 'fire', name, '--key', 'b1')).out),
      );
      expect(again).toEqual({ firing: first.firing, duplicate: true });

      const show = await cli(env, 'triggers', 'show', name);
      expect(show.out).toContain('manual:b1');

      expect((await cli(env, 'triggers', 'rm', name)).code).toBe(0);
      const gone = await cli(env, 'triggers', 'show', name);
      expect(gone.code).toBe(exitCodes.notFound);
    });

    it(`${where}: a bad trigger file exits with the usage code and one line naming the field`, async () => {
      const env = envs[where];
      const bad = file(`bad-${where}.yaml`, 'name: bad\npipeline: p\non:\n  cron: every day\n');
      const r = await cli(env, 'triggers', 'create', '-f', bad);
      expect(r.code).toBe(exitCodes.usage);
      expect(r.err).toContain('on.cron');
      const missing = await cli(env, 'triggers', 'create', '-f', path.join(dir, 'nope.yaml'));
      expect(missing.code).toBe(exitCodes.usage);
    });
  }
});
