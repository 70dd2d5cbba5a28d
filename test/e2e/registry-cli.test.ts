import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { loadConfig } from '../../src/core/config.js';
import { sha256Hex } from '../../src/core/hashing.js';
import { modelVersionSchema, promotionRequestSchema } from '../../src/registry/index.js';
import { buildApp } from '../../src/server/app.js';
import { cli } from '../support/cli.js';
import { tinyOnnxModel } from './registry-fixtures.js';

describe('sextant models: the registry from the CLI, locally and against a server', () => {
  let dir: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let local: Record<string, string>;
  let remote: Record<string, string>;
  const file = (name: string, content: string | Uint8Array) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-models-cli-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: path.join(dir, 'server') }));
    app = await buildApp(ws);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    local = { SEXTANT_HOME: path.join(dir, 'local') };
    remote = { SEXTANT_HOME: path.join(dir, 'local'), SEXTANT_URL: url };
  });
  afterAll(async () => {
    await app.close();
    await ws.webhooks.close();
    await ws.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] registers, gates, promotes, shows history at a time, rolls back and renders the card`, async () => {
      const env = transport === 'local' ? local : remote;
      const bytes = tinyOnnxModel([0.1, 0.2, 0.3]);
      const onnx = file(`model-${transport}.onnx`, bytes);
      const reg = await cli(env, 'models', 'register', 'fraud', '--file', onnx);
      expect(reg.code, reg.err).toBe(0);
      expect(reg.out).toMatch(/^registered fraud@1 \(onnx, sha256 [0-9a-f]{12}\)/);
      const shown = modelVersionSchema.parse(
        JSON.parse((await cli(env, '--json', 'models', 'show', 'fraud@latest')).out),
      );
      expect(shown).toMatchObject({ version: 1, format: 'onnx', sha256: sha256Hex(bytes) });

      const broken = await cli(env, 'models', 'register', 'fraud', '--file', file('broken.onnx', 'not onnx'));
      expect(broken.code).toBe(2);
      expect(broken.err).toMatch(/^error: file: not a valid ONNX model/);
      const neither = await cli(env, 'models', 'register', 'fraud');
      expect(neither.code).toBe(2);
      expect(neither.err).toContain('--run or --file');

      expect((await cli(env, 'models', 'register', 'fraud', '--file', onnx)).code).toBe(0);
      const policy = file('policy.yaml', 'approvals: 0\ngates:\n  - documentation: [card.intended_use]\n');
      expect((await cli(env, 'models', 'policy', 'set', 'fraud', policy)).code).toBe(0);
      expect((await cli(env, 'models', 'policy', 'show', 'fraud')).out).toContain('card.intended_use');
      const badPolicy = await cli(
        env,
        'models',
        'policy',
        'set',
        'fraud',
        file('bad.yaml', 'approvals: many\n'),
      );
      expect(badPolicy.code).toBe(2);
      expect(badPolicy.err).toMatch(/^error: policy\.approvals/);

      const blocked = await cli(env, 'models', 'promote', 'fraud@1', '--alias', 'champion');
      expect(blocked.code).toBe(0);
      expect(blocked.out).toMatch(/status\s+blocked/);
      expect(blocked.out).toMatch(/documentation: card.intended_use\s+FAIL\s+missing: card.intended_use/);
      expect(
        (await cli(env, 'models', 'card', 'fraud@1', '--set', 'intended_use=Flag card fraud for review'))
          .code,
      ).toBe(0);
      const promoted = promotionRequestSchema.parse(
        JSON.parse(
          (
            await cli(
              env,
              '--json',
              'models',
              'promote',
              'fraud@1',
              '--alias',
              'champion',
              '--reason',
              'first',
            )
          ).out,
        ),
      );
      expect(promoted.status).toBe('executed');
      const between = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 5));
      await cli(env, 'models', 'card', 'fraud@2', '--set', 'intended_use=Flag card fraud');
      expect((await cli(env, 'models', 'promote', 'fraud@2', '--alias', 'champion')).code).toBe(0);

      const history = await cli(env, 'models', 'history', 'fraud', '--alias', 'champion');
      expect(history.out).toMatch(/champion\s+-\s+1\s+promote/);
      expect(history.out).toMatch(/champion\s+1\s+2\s+promote/);
      const at = await cli(
        env,
        '--json',
        'models',
        'history',
        'fraud',
        '--alias',
        'champion',
        '--at',
        between,
      );
      expect(JSON.parse(at.out)).toMatchObject([{ alias: 'champion', version: 1 }]);
      const badAt = await cli(env, 'models', 'history', 'fraud', '--at', 'last tuesday');
      expect(badAt.code).toBe(2);

      const back = await cli(env, 'models', 'rollback', 'fraud', '--reason', 'latency regression');
      expect(back.code, back.err).toBe(0);
      expect(back.out).toBe('rolled back fraud@champion: 2 -> 1\n');
      expect(JSON.parse((await cli(env, '--json', 'models', 'show', 'fraud@champion')).out).version).toBe(1);

      const html = path.join(dir, `card-${transport}.html`);
      expect((await cli(env, 'models', 'card', 'fraud@champion', '--html', '--out', html)).code).toBe(0);
      expect(fs.readFileSync(html, 'utf8')).toContain('Flag card fraud for review');
      const out = path.join(dir, `download-${transport}.onnx`);
      expect((await cli(env, 'models', 'download', 'fraud@1', '--out', out)).code).toBe(0);
      expect(sha256Hex(fs.readFileSync(out))).toBe(sha256Hex(bytes));

      const missing = await cli(env, 'models', 'show', 'fraud@champion2');
      expect(missing.code).toBe(3);
      expect(missing.err).toContain("alias 'fraud@champion2' does not exist");
    });
  }

  it('[local] the local admin may not approve their own request (separation of duties)', async () => {
    const onnx = file('sod.onnx', tinyOnnxModel());
    expect((await cli(local, 'models', 'register', 'sod', '--file', onnx)).code).toBe(0);
    const opened = promotionRequestSchema.parse(
      JSON.parse((await cli(local, '--json', 'models', 'promote', 'sod@1', '--alias', 'champion')).out),
    );
    expect(opened.status).toBe('pending');
    const own = await cli(local, 'models', 'approve', opened.id, '-m', 'self');
    expect(own.code).toBe(6);
    expect(own.err).toMatch(/may not approve it \(separation of duties\)/);
    const again = await cli(local, 'models', 'promote', 'sod@1', '--alias', 'champion');
    expect(again.code).toBe(4);
    expect(again.err).toMatch(/already open/);
    expect((await cli(local, 'models', 'cancel', opened.id)).out).toMatch(/status\s+cancelled/);
  });
});
