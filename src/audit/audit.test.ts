import { sql } from 'kysely';
import { expect, it, onTestFinished } from 'vitest';
import { type BackendName, createTestDatabase, describeEachBackend } from '../../test/support/backends.js';
import { fakeClock } from '../core/clock.js';
import { canonicalJson, hmacSha256Hex, sha256Hex } from '../core/hashing.js';
import { type AuditEntryTable, type Db, inTransaction, openStore, type Store } from '../store/index.js';
import { type AuditLog, createAuditLog, GENESIS_HASH } from './index.js';

const KEY = 'audit-test-key-0123456789abcdef';

function logOver(store: Store): AuditLog {
  return createAuditLog({ db: store.db, dialect: store.dialect, clock: fakeClock(), key: KEY });
}

/** A log in its own database, for tests that corrupt it; dropped when the test ends. */
async function freshLog(backend: BackendName): Promise<{ db: Db; audit: AuditLog }> {
  const t = await createTestDatabase(backend);
  const store = await openStore(t.url);
  onTestFinished(async () => {
    await store.close();
    await t.drop();
  });
  return { db: store.db, audit: logOver(store) };
}

async function appendN(db: Db, audit: AuditLog, n: number, tag = 'user'): Promise<void> {
  for (let i = 1; i <= n; i++) {
    await inTransaction(db, (tx) =>
      audit.append(tx, {
        actor: `${tag}-${i}`,
        action: 'thing.updated',
        entityType: 'thing',
        entityId: `thing-${i}`,
        after: { n: i },
        details: { step: i },
      }),
    );
  }
}

function rows(db: Db): Promise<AuditEntryTable[]> {
  return db.selectFrom('audit_entries').selectAll().orderBy('seq').execute();
}

async function row(db: Db, seq: number): Promise<AuditEntryTable> {
  return db.selectFrom('audit_entries').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
}

/** What anyone who read the source can compute: the chain hash needs no key. */
function forgeHash(e: Omit<AuditEntryTable, 'hash'>): string {
  const { prev_hash, ...body } = e;
  return sha256Hex(`${prev_hash}\n${canonicalJson(body)}`);
}

/** Rewrites entries from `fromSeq` on so that every hash and link is consistent again. */
async function rechain(db: Db, fromSeq: number): Promise<void> {
  let prev = fromSeq === 1 ? GENESIS_HASH : (await row(db, fromSeq - 1)).hash;
  for (const r of (await rows(db)).filter((x) => x.seq >= fromSeq)) {
    const { hash: _old, ...body } = { ...r, prev_hash: prev };
    const hash = forgeHash(body);
    await db.updateTable('audit_entries').set({ prev_hash: prev, hash }).where('seq', '=', r.seq).execute();
    prev = hash;
  }
}

async function expectIntact(audit: AuditLog): Promise<void> {
  const result = await audit.verify();
  expect(result.problems).toEqual([]);
  expect(result.ok).toBe(true);
}

describeEachBackend('audit log', (get, backend) => {
  it('verifying while others append never reports tampering', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 3);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing && i < 400; i++) await appendN(db, audit, 1, `w${i}`);
    })();
    try {
      for (let i = 0; i < 25; i++) expect((await audit.verify()).problems).toEqual([]);
    } finally {
      writing = false;
      await writer;
    }
    await expectIntact(audit);
  });

  it("a checkpoint's signature cannot stand in for the head's after cutting the log back", async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 3);
    const cp = await audit.checkpoint();
    await appendN(db, audit, 3, 'later');
    await db.deleteFrom('audit_entries').where('seq', '>', 3).execute();
    await db
      .updateTable('audit_head')
      .set({ seq: cp!.seq, hash: cp!.hash, signature: cp!.signature })
      .execute();
    const result = await audit.verify();
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.kind)).toContain('bad-signature');
  });

  it('chains every entry to the one before it, and an intact log verifies', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 5);
    const all = await rows(db);
    expect(all.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(all[0]?.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < all.length; i++) expect(all[i]?.prev_hash).toBe(all[i - 1]?.hash);
    expect(new Set(all.map((r) => r.hash)).size).toBe(5);
    const result = await audit.verify();
    expect(result).toEqual({
      ok: true,
      entries: 5,
      head: { seq: 5, hash: all[4]?.hash },
      checkpoints: 0,
      problems: [],
    });
  });

  it('detects an entry edited in place', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 6);
    await expectIntact(audit);
    await sql`update audit_entries set actor = ${'mallory'} where seq = ${3}`.execute(db);
    const result = await audit.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'edited', seq: 3 }));
  });

  it('detects an entry deleted from the middle', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 6);
    await expectIntact(audit);
    await sql`delete from audit_entries where seq = ${3}`.execute(db);
    const result = await audit.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'missing', seq: 3 }));
  });

  it('detects an entry appended outside the log, even with a correctly computed hash', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 6);
    await expectIntact(audit);
    const last = await row(db, 6);
    const body = { ...last, seq: 7, id: 'aud_forged', actor: 'mallory', prev_hash: last.hash };
    const { hash: _old, ...unhashed } = body;
    await db
      .insertInto('audit_entries')
      .values({ ...unhashed, hash: forgeHash(unhashed) })
      .execute();
    const result = await audit.verify();
    expect(result.ok).toBe(false);
    // The forged row is internally consistent; only the signed head gives it away.
    expect(result.problems.filter((p) => p.kind === 'edited')).toEqual([]);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'inserted', seq: 7 }));
  });

  it('detects two entries swapped in order', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 6);
    await expectIntact(audit);
    // Through a free seq, since seq is the primary key.
    await sql`update audit_entries set seq = ${-1} where seq = ${3}`.execute(db);
    await sql`update audit_entries set seq = ${3} where seq = ${4}`.execute(db);
    await sql`update audit_entries set seq = ${4} where seq = ${-1}`.execute(db);
    const result = await audit.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'reordered', seq: 4 }));
  });

  it('detects the last entries cut off: the signed head says there were more', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 6);
    await expectIntact(audit);
    await sql`delete from audit_entries where seq > ${3}`.execute(db);
    const result = await audit.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'truncated', seq: 6 }));
  });

  it('detects a truncation covered up by rewriting the head without the key', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 6);
    await expectIntact(audit);
    await sql`delete from audit_entries where seq > ${3}`.execute(db);
    const newLast = await row(db, 3);
    const guessed = hmacSha256Hex('not-the-key', `sextant-audit:3:${newLast.hash}`);
    await db
      .updateTable('audit_head')
      .set({ seq: 3, hash: newLast.hash, signature: guessed })
      .where('id', '=', 1)
      .execute();
    const result = await audit.verify();
    expect(result.ok).toBe(false);
    // The head now matches the entries; only its signature gives it away.
    expect(result.problems.filter((p) => p.kind === 'truncated')).toEqual([]);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'bad-signature', seq: 3 }));
  });

  it('detects history rewritten under a stored checkpoint', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 4);
    const cp = await audit.checkpoint();
    expect(cp?.seq).toBe(4);
    await appendN(db, audit, 2, 'later');
    const before = await audit.verify();
    expect(before).toMatchObject({ ok: true, checkpoints: 1 });
    await sql`update audit_entries set actor = ${'mallory'} where seq = ${2}`.execute(db);
    await rechain(db, 2);
    const result = await audit.verify();
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'checkpoint-mismatch', seq: 4 }));
  });

  it('an external checkpoint detects the tables wiped and restored to an older, validly signed state', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 3);
    const oldEntries = await rows(db);
    const oldHead = await db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    await appendN(db, audit, 3, 'later');
    const external = await audit.checkpoint();
    if (!external) throw new Error('no checkpoint');

    await db.deleteFrom('audit_checkpoints').execute();
    await db.deleteFrom('audit_head').execute();
    await db.deleteFrom('audit_entries').execute();
    await db.insertInto('audit_entries').values(oldEntries).execute();
    await db.insertInto('audit_head').values(oldHead).execute();

    // The database alone cannot tell: everything left in it is genuine.
    await expectIntact(audit);
    const result = await audit.verify({ externalCheckpoint: external });
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'truncated', seq: 6 }));
  });

  it('an external checkpoint detects the tables wiped and rewritten with a forged history', async () => {
    const { db, audit } = await freshLog(backend);
    await appendN(db, audit, 6);
    const external = await audit.checkpoint();
    if (!external) throw new Error('no checkpoint');
    const original = await rows(db);

    await db.deleteFrom('audit_checkpoints').execute();
    await db.deleteFrom('audit_entries').execute();
    await db
      .insertInto('audit_entries')
      .values(original.map((r) => ({ ...r, actor: 'mallory' })))
      .execute();
    await rechain(db, 1);

    const result = await audit.verify({ externalCheckpoint: external });
    expect(result.ok).toBe(false);
    expect(result.problems).toContainEqual(expect.objectContaining({ kind: 'checkpoint-mismatch', seq: 6 }));
  });

  it('writes an entry only if its transaction commits', async () => {
    const { db } = get();
    const audit = logOver(get());
    await appendN(db, audit, 2, 'committed');
    const headBefore = await db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
    const countBefore = (await rows(db)).length;
    await expect(
      inTransaction(db, async (tx) => {
        await audit.append(tx, {
          actor: 'ghost',
          action: 'thing.created',
          entityType: 'thing',
          entityId: 'x',
        });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect((await rows(db)).length).toBe(countBefore);
    expect((await rows(db)).some((r) => r.actor === 'ghost')).toBe(false);
    expect(await db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow()).toEqual(headBefore);
    await expectIntact(audit);
  });

  it('50 concurrent writers get seq 1..N with no gap and no duplicate, and the log verifies', async () => {
    const store = get();
    const { db } = store;
    const audit = logOver(store);
    const start = (await db.selectFrom('audit_head').select('seq').executeTakeFirst())?.seq ?? 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const sessions = new Set<number>();
    const entries = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        db.transaction().execute(async (tx) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            if (store.dialect.name === 'postgres') {
              const r = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
              sessions.add(Number(r.rows[0]?.pid));
            }
            // Yield so that the other transactions get to start before this one takes the chain lock.
            await new Promise((resolve) => setTimeout(resolve, 5));
            return await audit.append(tx, {
              actor: `writer-${i}`,
              action: 'thing.created',
              entityType: 'thing',
              entityId: `w${i}`,
            });
          } finally {
            inFlight--;
          }
        }),
      ),
    );
    const written = (await rows(db)).filter((r) => r.seq > start);
    const expected = Array.from({ length: 50 }, (_, i) => start + 1 + i);
    expect(written.map((r) => r.seq)).toEqual(expected);
    expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(expected);
    expect(new Set(written.map((r) => r.actor)).size).toBe(50);
    if (store.dialect.name === 'postgres') {
      expect(sessions.size).toBeGreaterThan(1);
      expect(maxInFlight).toBeGreaterThan(1);
    }
    await expectIntact(audit);
  });
});
