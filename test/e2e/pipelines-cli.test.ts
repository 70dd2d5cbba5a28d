import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';

/*
 * `sextant pipelines` on a local workspace: the CLI registers the file, works the step jobs in its
 * own process while it waits, prints the steps and exits with the run's outcome.
 */

describe('sextant pipelines (local workspace)', () => {
  let home: string;
  let env: Record<string, string>;
  const file = (name: string, yaml: string) => {
    const f = path.join(home, name);
    fs.writeFileSync(f, yaml);
    return f;
  };
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-pipelines-cli-'));
    env = { SEXTANT_HOME: home, SEXTANT_LOG_LEVEL: 'silent' };
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('runs a file, prints its log and steps; the re-run is cached; show, ls, logs and workers ls read it', async () => {
    const f = file(
      'ok.yaml',
      `name: cli-ok\nparams:\n  who: { type: string, default: world }\nsteps:\n  greet: { run: "echo hello \${{ params.who }}" }\n  after: { needs: [greet], run: echo after }\n`,
    );
    const first = await cli(env, 'pipelines', 'run', f, '--param', 'who=sextant');
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain('[greet] hello sextant');
    expect(first.out).toMatch(/greet\s+succeeded/);
    const again = await cli(env, 'pipelines', 'run', f, '--param', 'who=sextant');
    expect(again.out).toMatch(/greet\s+cached/);
    const runs = JSON.parse((await cli(env, '--json', 'pipelines', 'ls', '--pipeline', 'cli-ok')).out);
    expect(runs.runs).toHaveLength(2);
    const show = await cli(env, 'pipelines', 'show', runs.runs[1].id);
    expect(show.out).toMatch(/status\s+succeeded/);
    const logs = await cli(env, 'pipelines', 'logs', runs.runs[1].id, '-f');
    expect(logs.out).toContain('[after] after');
    const workers = await cli(env, 'workers', 'ls');
    expect(workers.out).toContain(`:${process.pid}:`);
  });

  it('a failing step exits 9 naming it; a bad param exits 2 naming the field; a cycle is refused', async () => {
    const failing = file(
      'bad.yaml',
      'name: cli-bad\nsteps:\n  boom: { run: "exit 4" }\n  next: { needs: [boom], run: echo no }\n',
    );
    const r = await cli(env, 'pipelines', 'run', failing);
    expect(r.code).toBe(9);
    expect(r.err).toContain("step 'boom' failed");
    expect(r.out).toMatch(/next\s+skipped/);
    const typed = file(
      'typed.yaml',
      'name: cli-typed\nparams:\n  n: { type: integer }\nsteps:\n  a: { run: echo }\n',
    );
    const bad = await cli(env, 'pipelines', 'run', typed, '--param', 'n=x');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('params.n');
    const cyc = file(
      'cyc.yaml',
      'name: cli-cyc\nsteps:\n  a: { needs: [b], run: x }\n  b: { needs: [a], run: y }\n',
    );
    const refused = await cli(env, 'pipelines', 'create', '-f', cyc);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/cycle/);
  });
});
