import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_NODE_FLAGS } from './serving-serve-harness.js';

/*
 * Start-up: bin/sextant.js runs the bundle (rebuilt first when src/ is newer, so there is no build
 * step to remember), and a command loads only what it needs: `--help` no database, a local listing
 * no DuckDB, onnxruntime, S3 SDK, Fastify, pg or BullMQ. Which packages a process loaded is recorded by
 * a module resolve hook; the timings themselves are in bench/cli.bench.ts.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/sextant.js');
const STAMP = path.join(ROOT, 'dist/bin/.built');
const HEAVY = [
  '@duckdb/node-api',
  'onnxruntime-node',
  '@aws-sdk/client-s3',
  'fastify',
  'pg',
  'bullmq',
  'ioredis',
  'prom-client',
];

describe('start-up: the bundle, rebuilt when stale, loading only what a command needs', () => {
  let dir: string;
  let hooks: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-cli-startup-'));
    hooks = path.join(dir, 'record-packages.mjs');
    fs.writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
  if (m) appendFileSync(process.env.RECORD_PACKAGES, m[1] + '\\n');
  return r;
}`,
    );
    fs.writeFileSync(
      path.join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`,
    );
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs bin/sextant.js; returns what it printed and the packages it loaded. */
  function sextant(env: Record<string, string>, ...argv: string[]) {
    const record = path.join(dir, `packages-${argv.join('-').replace(/\W/g, '')}.txt`);
    fs.writeFileSync(record, '');
    const r = spawnSync(process.execPath, ['--import', path.join(dir, 'register.mjs'), BIN, ...argv], {
      env: { ...process.env, ...env, RECORD_PACKAGES: record },
      encoding: 'utf8',
    });
    const packages = new Set(fs.readFileSync(record, 'utf8').split('\n').filter(Boolean));
    return { code: r.status, out: r.stdout, err: r.stderr, packages };
  }

  it('a bundle older than the sources is rebuilt before the command runs', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    fs.mkdirSync(path.dirname(STAMP), { recursive: true });
    fs.writeFileSync(STAMP, '');
    fs.utimesSync(STAMP, new Date(0), new Date(0));
    const r = sextant({ SEXTANT_HOME: path.join(dir, 'home') }, '--version');
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(version);
    expect(fs.statSync(STAMP).mtimeMs).toBeGreaterThan(0);
    // Ran from the bundle, not the sources through tsx.
    expect(r.packages.has('tsx')).toBe(false);
  });

  it('--help loads no database and no heavy package; a local listing (models too) loads no heavy package', () => {
    const env = { SEXTANT_HOME: path.join(dir, 'home') };
    const help = sextant(env, '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: sextant');
    // Bundled packages (commander) are not resolved from node_modules; nothing else may load.
    expect([...help.packages].filter((p) => p !== 'commander')).toEqual([]);
    for (const p of [...HEAVY, 'better-sqlite3', 'kysely', 'zod'])
      expect({ p, loaded: help.packages.has(p) }).toEqual({ p, loaded: false });

    const runs = sextant(env, 'runs', 'ls');
    expect(runs.code, runs.err).toBe(0);
    expect(runs.packages.has('better-sqlite3')).toBe(true);
    for (const p of HEAVY) expect({ p, loaded: runs.packages.has(p) }).toEqual({ p, loaded: false });

    const data = sextant(env, 'data', 'ls');
    expect(data.code, data.err).toBe(0);
    for (const p of HEAVY) expect({ p, loaded: data.packages.has(p) }).toEqual({ p, loaded: false });

    // A listing of models is read from the database alone, like one of runs: it builds no event bus,
    // job queue or logger (the writes of the registry do), and starts no server.
    const models = sextant(env, 'models', 'ls');
    expect(models.code, models.err).toBe(0);
    for (const p of HEAVY) expect({ p, loaded: models.packages.has(p) }).toEqual({ p, loaded: false });
    expect([...models.packages].sort()).toEqual([...runs.packages].sort());
  });

  it("npx sextant and npm run give Node the flags of the project's .npmrc (node-options), the ones the server harness passes", () => {
    expect(CLI_NODE_FLAGS).toEqual(['--max-semi-space-size=64']);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['exec', '--', 'node', '-p', 'process.env.NODE_OPTIONS'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      encoding: 'utf8',
      shell: process.platform === 'win32',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split(/\s+/)).toEqual(expect.arrayContaining([...CLI_NODE_FLAGS]));
  });
});
