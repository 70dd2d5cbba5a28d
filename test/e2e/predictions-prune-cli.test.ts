import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';

/*
 * `sextant predictions prune --before` through the CLI on a local workspace: an age or time in the
 * past runs (here nothing is sealed yet), bad input exits 2 naming --before and prunes nothing.
 */

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-prune-cli-'));
const env = { SEXTANT_HOME: home, SEXTANT_LOG_LEVEL: 'silent' };
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('sextant predictions prune', () => {
  it('an age reaching before year 0 exits 2 naming --before', async () => {
    const r = await cli(env, 'predictions', 'prune', '--before', '999999999d');
    expect(r.code).toBe(2);
    expect(r.err).toContain("--before: '999999999d' reaches too far back");
  });

  it('a time in the future exits 2 naming before; a past age prunes what is sealed (nothing here)', async () => {
    const future = await cli(
      env,
      'predictions',
      'prune',
      '--before',
      new Date(Date.now() + 3_600_000).toISOString(),
    );
    expect(future.code).toBe(2);
    expect(future.err).toContain('before: must be a time in the past');
    const past = await cli(env, 'predictions', 'prune', '--before', '30d', '--json');
    expect(past.code, past.err).toBe(0);
    expect(JSON.parse(past.out)).toMatchObject({ segments: 0, rows: 0 });
  });
});
