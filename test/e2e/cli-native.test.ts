import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { exitCodes } from '../../src/cli/exit-codes.js';
import { loadConfig } from '../../src/core/config.js';
import { buildApp } from '../../src/server/app.js';
import { cli, cliJsonError as jsonError } from '../support/cli.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * The CLI behaves like the tools people already know (git, gh, kubectl): global options in any
 * position, errors as JSON under --json, a typo answered with a suggestion, and one exit-code table
 * that every command follows, on the local workspace and against a server alike.
 */

describe('sextant feels native: options anywhere, JSON errors, typo suggestions, one exit-code table', () => {
  let dir: string;
  let ws: Workspace;
  let app: FastifyInstance;
  let url: string;
  const envs: Record<'local' | 'remote', Record<string, string>> = { local: {}, remote: {} };
  const file = (name: string, content: string | Uint8Array) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cli-native-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: path.join(dir, 'server') }));
    app = await buildApp(ws);
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    envs.local = { SEXTANT_HOME: path.join(dir, 'local') };
    envs.remote = { SEXTANT_HOME: path.join(dir, 'client'), SEXTANT_URL: url };
  });
  afterAll(async () => {
    await app.close();
    await ws.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] --json works before the group, between group and command, and after the command`, async () => {
      const env = envs[transport];
      expect((await cli(env, 'experiments', 'create', uniq('anywhere'))).code).toBe(0);
      for (const [group, command] of [
        ['experiments', 'ls'],
        ['data', 'ls'],
        ['models', 'ls'],
        ['deployments', 'ls'],
      ] as const) {
        const outs = [];
        for (const argv of [
          ['--json', group, command],
          [group, '--json', command],
          [group, command, '--json'],
        ]) {
          const r = await cli(env, ...argv);
          expect({ argv, code: r.code, err: r.err }).toEqual({ argv, code: 0, err: '' });
          outs.push(JSON.parse(r.out));
        }
        expect(outs[1]).toEqual(outs[0]);
        expect(outs[2]).toEqual(outs[0]);
      }
      // trace had its own --json; it is the global one now, accepted in both places.
      for (const argv of [
        ['trace', 'pred_00000000000000000000000000', '--json'],
        ['--json', 'trace', 'pred_00000000000000000000000000'],
      ]) {
        const r = await cli(env, ...argv);
        expect(r.code).toBe(exitCodes.notFound);
        expect(jsonError.parse(JSON.parse(r.err)).error.code).toBe('NOT_FOUND');
      }
    });

    it(`[${transport}] with --json an error is one JSON object on stderr, stdout stays empty`, async () => {
      const env = envs[transport];
      const ghost = uniq('ghost');
      const missing = await cli(env, 'models', 'show', `${ghost}@1`, '--json');
      expect(missing.code).toBe(3);
      expect(missing.out).toBe('');
      const body = jsonError.parse(JSON.parse(missing.err));
      expect(body.error).toMatchObject({ code: 'NOT_FOUND', exitCode: 3 });
      expect(body.error.message).toContain(ghost);

      const usage = await cli(env, 'data', 'ls', '--bogus', '--json');
      expect(usage.code).toBe(2);
      expect(jsonError.parse(JSON.parse(usage.err)).error).toMatchObject({
        code: 'USAGE',
        message: "unknown option '--bogus'",
        exitCode: 2,
      });
      // Without --json: one readable line and a hint, not the whole help.
      const text = await cli(env, 'data', 'ls', '--bogus');
      expect(text.err.split('\n').filter(Boolean)).toEqual([
        "error: unknown option '--bogus'",
        '(see: sextant data ls --help)',
      ]);
    });

    it(`[${transport}] a typo inside a group is an unknown command with a suggestion, not a fall-through to ls`, async () => {
      const env = envs[transport];
      for (const [argv, typo, suggestion] of [
        [['models', 'promte', 'x@1', '--alias', 'champion'], 'promte', 'promote'],
        [['experiments', 'crate', 'x'], 'crate', 'create'],
        [['deployments', 'updte', 'x', '--no-challenger'], 'updte', 'update'],
        [['predictions', 'shwo', 'pred_x'], 'shwo', 'show'],
        [['runs', 'compaer', 'a', 'b'], 'compaer', 'compare'],
        [['users', 'craete', 'bob', '--role', 'viewer'], 'craete', 'create'],
      ] as const) {
        const r = await cli(env, ...argv);
        expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
        expect(r.err).toContain(`error: unknown command '${typo}' (did you mean ${suggestion}?)`);
        expect(r.err).not.toContain('Usage:');
        expect(r.out).toBe('');
      }
      // The default command still answers the bare group.
      expect((await cli(env, 'models')).code).toBe(0);
    });

    it(`[${transport}] exit codes: usage 2, not found 3, conflict 4, check failed 9, blocked by policy 10`, async () => {
      const env = envs[transport];
      expect((await cli(env, 'runs', 'ls', '--nope')).code).toBe(exitCodes.usage);
      expect((await cli(env, 'experiments', 'show', uniq('ghost'))).code).toBe(exitCodes.notFound);
      const name = uniq('twice');
      expect((await cli(env, 'experiments', 'create', name)).code).toBe(0);
      expect((await cli(env, 'experiments', 'create', name)).code).toBe(exitCodes.conflict);

      // A quality suite that fails is a check that said no, not a usage error.
      const ds = uniq('people');
      fs.mkdirSync(path.join(dir, ds));
      fs.writeFileSync(
        path.join(dir, ds, 'people.csv'),
        ['id,age', ...Array.from({ length: 20 }, (_, i) => `${i},${20 + i}`)].join('\n'),
      );
      expect((await cli(env, 'data', 'add', path.join(dir, ds), '--dataset', ds)).code).toBe(0);
      const suite = file(
        `${ds}.yaml`,
        'name: strict\nexpectations:\n  - between: { column: age, min: 30, max: 35 }\n',
      );
      const failed = await cli(env, 'data', 'validate', `${ds}@1`, '--suite', suite);
      expect(failed.code).toBe(exitCodes.checkFailed);
      expect(failed.out).toContain('FAILED: 1 of 1 expectations failed');
      expect(failed.err).toContain(`suite 'strict' failed on ${ds}@1`);

      // A promotion its policy blocks is not a success.
      const model = uniq('fraud');
      expect(
        (
          await cli(
            env,
            'models',
            'register',
            model,
            '--file',
            file(`${model}.onnx`, tinyOnnxModel([1, 2, 3])),
          )
        ).code,
      ).toBe(0);
      const policy = file(`${model}.yaml`, 'approvals: 0\ngates:\n  - documentation: [card.intended_use]\n');
      expect((await cli(env, 'models', 'policy', 'set', model, policy)).code).toBe(0);
      const blocked = await cli(env, '--json', 'models', 'promote', `${model}@1`, '--alias', 'champion');
      expect(blocked.code).toBe(exitCodes.blockedByPolicy);
      expect(JSON.parse(blocked.out)).toMatchObject({ status: 'blocked' });
      const why = jsonError.parse(JSON.parse(blocked.err)).error;
      expect(why).toMatchObject({ code: 'BLOCKED_BY_POLICY', exitCode: 10 });
      expect(why.message).toContain('card.intended_use');
      // The audit log names what it lists: the version by its ref beside its id.
      expect((await cli(env, 'audit', 'log', '--limit', '100')).out).toMatch(
        new RegExp(`model_version\\.create\\s+${model}@1\\s+model_version/mv_`),
      );

      // A label for a prediction that does not exist is not found, as everywhere else.
      const label = await cli(env, 'feedback', 'pred_00000000000000000000000000', '1');
      expect(label.code).toBe(exitCodes.notFound);
      expect(label.err).toContain("prediction 'pred_00000000000000000000000000' does not exist");
    });
  }

  it('--url and --token work after the command; --token without a server is refused, not ignored', async () => {
    const env = envs.local;
    const viaFlag = await cli(env, 'experiments', 'ls', '--json', '--url', url, '--token', 'anything');
    expect(viaFlag.code, viaFlag.err).toBe(0);
    const serverSide = await ws.experiments.search({});
    expect(JSON.parse(viaFlag.out)).toEqual(JSON.parse(JSON.stringify(serverSide)));

    const lonely = await cli(env, 'models', 'ls', '--token', 'secret');
    expect(lonely.code).toBe(exitCodes.usage);
    expect(lonely.err).toMatch(/--token needs a server: give --url/);
  });

  it('a model ref that does not resolve is not found for serve too (3, like every other command)', async () => {
    const r = await cli(envs.local, 'serve', `${uniq('ghost')}@champion`, '--port', '0');
    expect(r.code).toBe(exitCodes.notFound);
    expect(r.err).toMatch(/does not resolve/);
  });

  it('a port already in use names the port and suggests --port 0 (exit 8, unavailable)', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const r = await cli(envs.local, 'server', '--port', String(port));
      expect(r.code).toBe(exitCodes.unavailable);
      expect(r.err).toContain(`error: port ${port} on 127.0.0.1 is already in use`);
      expect(r.err).toContain('--port 0');
    } finally {
      holder.close();
    }
  });

  it('the README documents every exit code the CLI uses, with the same numbers', () => {
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Exit codes'));
    const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(documented.sort((a, b) => a - b)).toEqual(Object.values(exitCodes).sort((a, b) => a - b));
  });
});
