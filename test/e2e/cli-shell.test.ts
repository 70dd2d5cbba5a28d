import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWorkspace, type Workspace } from '../../src/app/index.js';
import { processOutput } from '../../src/cli/output.js';
import { runCli } from '../../src/cli/program.js';
import { loadConfig } from '../../src/core/config.js';
import { buildApp } from '../../src/server/app.js';
import { cli } from '../support/cli.js';
import { uniq } from './helpers.js';

/*
 * The CLI in a shell: --version, completion scripts that a real bash runs, colour on a terminal only,
 * and flag names that are the same on every listing. The binary itself (bin/sextant.js) runs where
 * what is checked is what a pipe sees.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/sextant.js');
const RED_FAIL = '\x1b[31mFAIL\x1b[0m';

describe('sextant in a shell: version, completion, colour, consistent flags', () => {
  let dir: string;
  let ws: Workspace;
  let app: FastifyInstance;
  const envs: Record<'local' | 'remote', Record<string, string>> = { local: {}, remote: {} };
  let suite: string;
  let dataset: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cli-shell-'));
    ws = await openWorkspace(loadConfig({ SEXTANT_HOME: path.join(dir, 'server') }));
    app = await buildApp(ws);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    envs.local = { SEXTANT_HOME: path.join(dir, 'local') };
    envs.remote = { SEXTANT_HOME: path.join(dir, 'client'), SEXTANT_URL: url };
    dataset = uniq('ages');
    fs.mkdirSync(path.join(dir, dataset));
    fs.writeFileSync(
      path.join(dir, dataset, 'ages.csv'),
      ['id,age', ...Array.from({ length: 10 }, (_, i) => `${i},${30 + i}`)].join('\n'),
    );
    suite = path.join(dir, 'suite.yaml');
    fs.writeFileSync(suite, 'name: s\nexpectations:\n  - between: { column: age, min: 0, max: 32 }\n');
    expect((await cli(envs.local, 'data', 'add', path.join(dir, dataset), '--dataset', dataset)).code).toBe(
      0,
    );
  });
  afterAll(async () => {
    await app.close();
    await ws.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--version and -V print the package version', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const r = await cli(envs.local, flag);
      expect({ flag, code: r.code, out: r.out.trim() }).toEqual({ flag, code: 0, out: version });
    }
  });

  it('the bash completion script completes commands, subcommands and global options in a real bash', () => {
    const shim = path.join(dir, 'bin');
    fs.mkdirSync(shim, { recursive: true });
    fs.writeFileSync(
      path.join(shim, 'sextant'),
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`,
      { mode: 0o755 },
    );
    const complete = (...words: string[]) => {
      const script = `source <(sextant completion bash)
COMP_WORDS=(sextant ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}
_sextant; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const r = spawnSync('bash', ['-c', script], {
        env: { ...process.env, ...envs.local, PATH: `${shim}:${process.env.PATH}` },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.split('\n').filter(Boolean);
    };
    expect(complete('mod')).toEqual(['models']);
    expect(complete('models', 'pro')).toEqual(['promote']);
    expect(complete('data', 'ls', '--js')).toEqual(['--json']);
    expect(complete('runs', 'ls', '--li')).toEqual(['--limit']);
  });

  it('zsh and fish get their own scripts; an unknown shell is a usage error', async () => {
    expect((await cli(envs.local, 'completion', 'zsh')).out).toContain('compdef _sextant sextant');
    expect((await cli(envs.local, 'completion', 'fish')).out).toContain('complete -c sextant');
    const bad = await cli(envs.local, 'completion', 'tcsh');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('Allowed choices are bash, zsh, fish');
  });

  it('colours FAIL on a terminal, never when piped or with NO_COLOR', async () => {
    let out = '';
    const terminal = { out: (t: string) => (out += t), err: () => {}, color: true };
    expect(await runCli(['data', 'validate', `${dataset}@1`, '--suite', suite], envs.local, terminal)).toBe(
      9,
    );
    expect(out).toContain(RED_FAIL);

    // The binary's own decision: stdout here is a pipe.
    const piped = spawnSync(process.execPath, [BIN, 'data', 'validate', `${dataset}@1`, '--suite', suite], {
      env: { ...process.env, ...envs.local, NO_COLOR: '', FORCE_COLOR: '' },
      encoding: 'utf8',
    });
    expect(piped.status).toBe(9);
    expect(piped.stdout).toContain('FAIL');
    expect(piped.stdout).not.toContain('\x1b[');
    const forced = spawnSync(process.execPath, [BIN, 'data', 'validate', `${dataset}@1`, '--suite', suite], {
      env: { ...process.env, ...envs.local, FORCE_COLOR: '1' },
      encoding: 'utf8',
    });
    expect(forced.stdout).toContain(RED_FAIL);
    expect(processOutput({ FORCE_COLOR: '1' }).color).toBe(true);
    expect(processOutput({ NO_COLOR: '1', TERM: 'xterm' }).color).toBe(false);
  });

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] every listing takes --limit, and a bad value names the flag the user typed`, async () => {
      const env = envs[transport];
      const exp = uniq('limits');
      expect((await cli(env, 'experiments', 'create', exp)).code).toBe(0);
      for (const argv of [
        ['runs', 'ls', '-e', exp, '--limit', 'abc'],
        ['experiments', 'ls', '--limit', '0'],
        ['predictions', 'ls', '--limit', '-1'],
        ['audit', 'log', '--limit', 'x'],
      ]) {
        const r = await cli(env, ...argv);
        expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
        expect(r.err).toMatch(/^error: --limit: '.*' is not a positive whole number/);
        expect(r.err).not.toContain('max_results');
      }
      // Beyond what one listing returns: the flag and the bound, not the API's field name.
      for (const [argv, max] of [
        [['runs', 'ls', '-e', exp, '--limit', '50001'], '50,000'],
        [['experiments', 'ls', '--limit', '50001'], '50,000'],
        [['models', 'ls', '--limit', '1001'], '1,000'],
        [['predictions', 'ls', '--limit', '1001'], '1,000'],
        [['jobs', 'ls', '--limit', '1001'], '1,000'],
        [['alerts', 'ls', '--limit', '1001'], '1,000'],
        [['pipelines', 'ls', '--limit', '1001'], '1,000'],
        [['audit', 'log', '--limit', '1001'], '1,000'],
        [['webhooks', 'deliveries', '--limit', '1001'], '1,000'],
      ] as const) {
        const r = await cli(env, ...argv);
        expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
        expect(r.err).toContain(
          `error: --limit: '${argv.at(-1)}' is more than ${max}, the most one listing returns`,
        );
      }
      expect((await cli(env, 'models', 'ls', '--limit', '1000')).code).toBe(0);
      expect((await cli(env, 'jobs', 'ls', '--limit', '1000')).code).toBe(0);
      const old = await cli(env, 'runs', 'ls', '-e', exp, '--max', 'nope');
      expect(old.code).toBe(2);
      expect(old.err).toMatch(/^error: --max: 'nope'/);
      const one = await cli(env, '--json', 'experiments', 'ls', '--limit', '1');
      expect((JSON.parse(one.out) as { experiments: unknown[] }).experiments).toHaveLength(1);
    });
  }
});
