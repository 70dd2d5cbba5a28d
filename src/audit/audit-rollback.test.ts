import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { type BackendName, createTestDatabase, describeEachBackend } from '../../test/support/backends.js';
import { fakeClock } from '../core/clock.js';
import { type Db, inTransaction, openStore } from '../store/index.js';
import { type AuditLog, createAuditLog, createFileWitness, workspaceWitness } from './index.js';

/*
 * Issue 16, finding 3: whoever can rewrite the database could roll the audit log back to an older,
 * genuinely signed state, wipe it whole, or delete checkpoint rows, and verify said OK. The head
 * witness kept outside the database and the chain of checkpoints catch each of those.
 */

const KEY = 'audit-rollback-test-key-0123456789';

async function witnessedLog(backend: BackendName) {
  const t = await createTestDatabase(backend);
  const store = await openStore(t.url);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-witness-'));
  onTestFinished(async () => {
    await store.close();
    await t.drop();
    fs.rmSync(home, { recursive: true, force: true });
  });
  const witnessFile = path.join(home, 'audit.witness');
  const open = () =>
    createAuditLog({
      db: store.db,
      dialect: store.dialect,
      clock: fakeClock(),
      key: KEY,
      witness: createFileWitness(witnessFile),
    });
  return { db: store.db, audit: open(), reopen: open, witnessFile };
}

async function appendN(db: Db, audit: AuditLog, n: number, tag = 'u'): Promise<void> {
  for (let i = 1; i <= n; i++) {
    await inTransaction(db, (tx) =>
      audit.append(tx, {
        actor: `${tag}-${i}`,
        action: 'thing.updated',
        entityType: 'thing',
        entityId: `t-${i}`,
      }),
    );
  }
}

describeEachBackend('the audit log outside its database', (_get, backend) => {
  it('detects entries deleted after T with an older signed head put back, even with an older external checkpoint', async () => {
    const { db, audit, reopen } = await witnessedLog(backend);
    await appendN(db, audit, 3);
    const external = await audit.checkpoint();
    await appendN(db, audit, 3, 'keep');
    const headAtT = await db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    const checkpointsAtT = await db.selectFrom('audit_checkpoints').selectAll().execute();
    await appendN(db, audit, 4, 'later');
    await audit.checkpoint();
    expect((await audit.verify()).ok).toBe(true);

    // Roll back to T: later entries and checkpoints gone, the genuine head of T restored.
    await db.deleteFrom('audit_entries').where('seq', '>', headAtT.seq).execute();
    await db.deleteFrom('audit_checkpoints').execute();
    await db.insertInto('audit_checkpoints').values(checkpointsAtT).execute();
    await db.updateTable('audit_head').set(headAtT).execute();

    // A new process (a restart) on the same workspace still sees it.
    const result = await reopen().verify({ externalCheckpoint: external! });
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'rolled-back', seq: 10 }));
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'checkpoint-missing', seq: 10 }));
  });

  it('detects a full wipe of entries, head and checkpoints', async () => {
    const { db, audit, reopen } = await witnessedLog(backend);
    await appendN(db, audit, 5);
    await audit.checkpoint();
    await db.deleteFrom('audit_entries').execute();
    await db.deleteFrom('audit_head').execute();
    await db.deleteFrom('audit_checkpoints').execute();
    const result = await reopen().verify();
    expect(result.ok).toBe(false);
    expect(result.entries).toBe(0);
    const wiped = result.problems.find((p) => p.kind === 'rolled-back');
    expect(wiped?.message).toContain('wiped');
  });

  it('the witness lags the newest entry by at most one append, and verify catches up to it', async () => {
    const { db, audit, reopen } = await witnessedLog(backend);
    await appendN(db, audit, 4);
    // The fourth append witnessed the third entry; dropping only the fourth goes unseen until verify ran.
    expect((await audit.verify()).witness).toBe(4);
    await db.deleteFrom('audit_entries').where('seq', '=', 4).execute();
    const third = await db
      .selectFrom('audit_entries')
      .selectAll()
      .where('seq', '=', 3)
      .executeTakeFirstOrThrow();
    const headRow = await db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    expect(headRow.seq).toBe(4);
    // Without the key the head cannot be re-signed for entry 3; with it (an insider) the witness still knows.
    const { hmacSha256Hex } = await import('../core/hashing.js');
    await db
      .updateTable('audit_head')
      .set({ seq: 3, hash: third.hash, signature: hmacSha256Hex(KEY, `sextant-audit-head:3:${third.hash}`) })
      .execute();
    const result = await reopen().verify();
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'rolled-back', seq: 4 }));
  });

  it('detects a checkpoint row deleted from the middle and the newest one deleted', async () => {
    const { db, audit, reopen } = await witnessedLog(backend);
    for (let i = 0; i < 3; i++) {
      await appendN(db, audit, 2, `round${i}`);
      await audit.checkpoint();
    }
    const cps = await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
    expect(cps.map((c) => [c.seq, c.prev_seq])).toEqual([
      [2, null],
      [4, 2],
      [6, 4],
    ]);
    await db.deleteFrom('audit_checkpoints').where('seq', '=', 4).execute();
    const middle = await reopen().verify();
    expect(middle.problems).toContainEqual(
      expect.objectContaining({
        kind: 'checkpoint-missing',
        seq: 4,
        message: expect.stringContaining('gone'),
      }),
    );

    await db.deleteFrom('audit_checkpoints').where('seq', '=', 6).execute();
    const newest = await reopen().verify();
    expect(newest.problems).toContainEqual(expect.objectContaining({ kind: 'checkpoint-missing', seq: 6 }));
  });

  it('a witness file edited by hand (lowered) is refused, not trusted', async () => {
    const { db, audit, reopen, witnessFile } = await witnessedLog(backend);
    await appendN(db, audit, 3);
    await audit.verify();
    const w = JSON.parse(fs.readFileSync(witnessFile, 'utf8'));
    fs.writeFileSync(witnessFile, JSON.stringify({ ...w, seq: 1 }));
    const result = await reopen().verify();
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'bad-signature', seq: null }));
  });

  it('an untouched log verifies, across restarts, with the witness at its head', async () => {
    const { db, audit, reopen } = await witnessedLog(backend);
    await appendN(db, audit, 3);
    await audit.checkpoint();
    await appendN(db, reopen(), 2, 'second-process');
    const result = await reopen().verify();
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ ok: true, entries: 5, witness: 5 });
  });
});

it('a workspace pointed at another database keeps a witness per database: no false alarm, nothing erased', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'sextant-witness-two-'));
  const stores = await Promise.all(['a', 'b'].map((n) => openStore(`sqlite:${path.join(home, `${n}.db`)}`)));
  try {
    const logs = stores.map((store) =>
      createAuditLog({
        db: store.db,
        dialect: store.dialect,
        clock: fakeClock(),
        key: KEY,
        witness: workspaceWitness(home, store.url),
      }),
    );
    await appendN(stores[0]!.db, logs[0]!, 5);
    expect((await logs[0]!.verify()).witness).toBe(5);
    await appendN(stores[1]!.db, logs[1]!, 2);
    expect(await logs[1]!.verify()).toMatchObject({ ok: true, witness: 2 });
    // The first database's witness still holds its own head: cutting it back is still seen.
    await stores[0]!.db.deleteFrom('audit_entries').execute();
    await stores[0]!.db.deleteFrom('audit_head').execute();
    const cut = await logs[0]!.verify();
    expect(cut.problems).toContainEqual(expect.objectContaining({ kind: 'rolled-back', seq: 5 }));
  } finally {
    for (const s of stores) await s.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
});
