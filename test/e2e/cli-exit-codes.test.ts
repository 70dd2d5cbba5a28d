import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { exitCodes } from '../../src/cli/exit-codes.js';
import { cli, cliJsonError as jsonError } from '../support/cli.js';
import { useCliTransports } from './fixtures/cli-transports.js';
import { uniq } from './helpers.js';

/*
 * The exit-code table, the codes cli-native.test.ts does not reach: integrity (a tampered audit chain)
 * on both transports, and unavailable (no server at --url). Auth's 5 and 6 are in cli-team.test.ts;
 * usage, not found, conflict, check failed and blocked by policy in cli-native.test.ts.
 */

describe('exit codes: integrity and unavailable, on both transports', () => {
  const t = useCliTransports('cli-exit-codes');

  /** Edits one audit entry behind the audit log's back, as an attacker with the database file would. */
  function tamper(home: string) {
    const db = new Database(path.join(home, 'sextant.db'));
    try {
      for (const { name } of db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_entries'")
        .all() as { name: string }[])
        db.exec(`DROP TRIGGER "${name}"`);
      const changed = db
        .prepare(
          "UPDATE audit_entries SET actor = 'mallory' WHERE seq = (SELECT max(seq) FROM audit_entries)",
        )
        .run();
      expect(changed.changes).toBe(1);
    } finally {
      db.close();
    }
  }

  for (const transport of ['local', 'remote'] as const) {
    it(`[${transport}] a tampered audit chain exits 7 (integrity), as text and as JSON`, async () => {
      const env = t.envs[transport];
      expect((await cli(env, 'experiments', 'create', uniq('chain'))).code).toBe(0);
      expect((await cli(env, 'audit', 'verify')).code).toBe(exitCodes.ok);
      tamper(path.join(t.dir, transport === 'local' ? 'local' : 'server'));
      const broken = await cli(env, 'audit', 'verify');
      expect(broken.code, broken.out + broken.err).toBe(exitCodes.integrity);
      expect(broken.err).toContain('error: the audit chain is broken');
      const json = await cli(env, 'audit', 'verify', '--json');
      expect(json.code).toBe(exitCodes.integrity);
      expect(jsonError.parse(JSON.parse(json.err)).error).toMatchObject({
        code: 'INTEGRITY_ERROR',
        exitCode: 7,
      });
    });
  }

  it('no server at --url exits 8 (unavailable), naming the address', async () => {
    const r = await cli(t.envs.local, 'models', 'ls', '--url', 'http://127.0.0.1:9');
    expect(r.code).toBe(exitCodes.unavailable);
    expect(r.err).toContain('127.0.0.1:9');
  });
});
