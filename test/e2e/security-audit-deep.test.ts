import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerifyResultSchema } from '../../src/audit/index.js';
import type { Actor } from '../../src/registry/index.js';
import { openStore } from '../../src/store/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/backends.js';
import { cli } from '../support/cli.js';
import { uniq } from './helpers.js';
import { tinyOnnxModel } from './registry-fixtures.js';

/*
 * Issue 16, finding 3: edits of the governed tables behind the audit log's back (a backdoor token, a
 * viewer made admin, champion moved, a version's sha256 swapped, alias history emptied, an approval's
 * actor changed) left the chain intact and verify said OK. `audit verify --deep` compares the tables
 * with what their last audit entries recorded and names each difference.
 */

describeEachBackend('audit verify --deep: the governed tables against the audit log', (getStore) => {
  let t: TestApp;
  const alice: Actor = { name: 'alice', role: 'editor' };
  const rita: Actor = { name: 'rita', role: 'approver' };
  let model: string;
  let veraId: string;

  beforeAll(async () => {
    t = await createTestApp(getStore());
    const vera = await t.services.auth.createUser({ actor: 'system', name: uniq('vera'), role: 'viewer' });
    veraId = vera.id;
    await t.services.auth.createToken({ actor: 'system', user: vera.name, name: 'laptop' });
    model = uniq('credit');
    for (const w of [0.5, 0.7] as const) {
      await t.services.registry.versions.registerFile({
        actor: alice,
        model,
        filename: 'model.onnx',
        content: tinyOnnxModel([w, -0.25, 1]),
      });
    }
    const request = await t.services.registry.promotions.open({
      actor: alice,
      ref: `${model}@1`,
      alias: 'champion',
    });
    await t.services.registry.promotions.decide({ actor: rita, id: request.id, decision: 'approve' });
    await t.services.registry.aliases.set({ actor: alice, model, alias: 'staging', version: 2 });
  }, 60_000);
  afterAll(() => t.close());

  const verify = async (deep: boolean) =>
    auditVerifyResultSchema.parse(await t.services.audit.verify({ deep }));

  it('an untouched workspace passes the deep check', async () => {
    const result = await verify(true);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('names every governed edit made behind the log, while the chain alone still verifies', async () => {
    const db = t.services.store.db;
    const modelRow = await db
      .selectFrom('registered_models')
      .selectAll()
      .where('name', '=', model)
      .executeTakeFirstOrThrow();
    const v1 = await db
      .selectFrom('model_versions')
      .selectAll()
      .where('model_id', '=', modelRow.id)
      .where('version', '=', 1)
      .executeTakeFirstOrThrow();
    // A backdoor token for vera, and vera made admin.
    await db
      .insertInto('api_tokens')
      .values({
        id: 'tok_backdoor',
        user_id: veraId,
        name: 'backdoor',
        token_hash: 'f'.repeat(64),
        created_at: Date.now(),
        expires_at: null,
        last_used_at: null,
        revoked_at: null,
        minted_under: 'authenticated',
      })
      .execute();
    await db.updateTable('users').set({ role: 'admin' }).where('id', '=', veraId).execute();
    // Champion moved to the unapproved version 2; version 1's bytes swapped; the alias history emptied.
    await db
      .updateTable('model_aliases')
      .set({ version: 2 })
      .where('model_id', '=', modelRow.id)
      .where('alias', '=', 'champion')
      .execute();
    await db
      .updateTable('model_versions')
      .set({ sha256: 'e'.repeat(64) })
      .where('id', '=', v1.id)
      .execute();
    const history = await db
      .selectFrom('alias_events')
      .select('id')
      .where('model_id', '=', modelRow.id)
      .execute();
    expect(history.length).toBe(2);
    await db.deleteFrom('alias_events').where('model_id', '=', modelRow.id).execute();
    // The approval now names someone else.
    await db
      .updateTable('promotion_decisions')
      .set({ actor: 'mallory' })
      .where('actor', '=', 'rita')
      .execute();

    const shallow = await verify(false);
    expect(shallow.ok).toBe(true);

    const deep = await verify(true);
    expect(deep.ok).toBe(false);
    const lines = deep.problems.map((p) => `[${p.kind}] ${p.message}`);
    const has = (re: RegExp) =>
      expect(
        lines.some((l) => re.test(l)),
        `${re} in\n${lines.join('\n')}`,
      ).toBe(true);
    has(/^\[row-unrecorded\] api_tokens tok_backdoor: no audit entry records this row/);
    has(new RegExp(`^\\[row-changed\\] users ${veraId}: role is "admin", entry \\d+ recorded "viewer"`));
    has(
      new RegExp(
        `^\\[row-changed\\] model_aliases ${modelRow.id}/champion: version is 2, entry \\d+ recorded 1`,
      ),
    );
    has(
      new RegExp(
        `^\\[row-changed\\] model_versions ${v1.id}: sha256 is "e{64}", entry \\d+ recorded "${v1.sha256}"`,
      ),
    );
    for (const e of history)
      has(new RegExp(`^\\[row-missing\\] alias_events ${e.id}: recorded by entry \\d+, but gone`));
    has(/^\[row-changed\] promotion_decisions pdc_\w+: actor is "mallory", entry \d+ recorded "rita"/);
    // Nothing else is named: the untouched staging alias and version 2 still match.
    expect(lines).toHaveLength(7);
  });
});

describe('sextant audit verify on a local workspace', () => {
  let home: string;
  let env: Record<string, string>;
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-audit-cli-'));
    env = { SEXTANT_HOME: home };
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('--deep names a role raised behind the log and exits 7; a wiped log is caught by the witness', async () => {
    expect((await cli(env, 'users', 'create', 'vera', '--role', 'viewer')).code).toBe(0);
    const ok = await cli(env, 'audit', 'verify', '--deep');
    expect(ok.out, ok.err).toMatch(/audit chain OK: \d+ entries.*governed tables match/);

    const store = await openStore(`sqlite:${path.join(home, 'sextant.db')}`);
    try {
      await store.db.updateTable('users').set({ role: 'admin' }).where('name', '=', 'vera').execute();
      const deep = await cli(env, 'audit', 'verify', '--deep');
      expect(deep.code).toBe(7);
      expect(deep.out).toMatch(/\[row-changed\] users usr_\w+: role is "admin", entry \d+ recorded "viewer"/);

      await store.db.deleteFrom('audit_entries').execute();
      await store.db.deleteFrom('audit_head').execute();
      await store.db.deleteFrom('audit_checkpoints').execute();
    } finally {
      await store.close();
    }
    const wiped = await cli(env, 'audit', 'verify');
    expect(wiped.code).toBe(7);
    expect(wiped.out).toMatch(
      /\[rolled-back\] the audit log is empty, but the head witness .* saw entry \d+: the log was wiped/,
    );
  });
});
