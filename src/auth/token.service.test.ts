import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/backends.js';
import { createAuditLog } from '../audit/index.js';
import { fakeClock } from '../core/clock.js';
import { ConflictError, NotFoundError, UnauthenticatedError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import type { Store } from '../store/index.js';
import { createAuthService, createdTokenSchema, TOKEN_SECRET_PATTERN, tokenSchema } from './index.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

let n = 0;
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++n}`;

/** A service with its own fake clock and a fresh user to hold tokens. */
async function setup(store: Store, role: 'viewer' | 'editor' = 'editor') {
  const clock = fakeClock();
  const audit = createAuditLog({
    db: store.db,
    dialect: store.dialect,
    clock,
    key: 'token-test-audit-key-0123',
  });
  const auth = createAuthService({ db: store.db, audit, clock });
  const user = await auth.createUser({ actor: 'usr_admin', name: uniq('holder'), role });
  return { clock, auth, user };
}

function tokenRow(store: Store, id: string) {
  return store.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

describeEachBackend('auth service: API tokens', (get) => {
  it('shows the secret once and stores only its sha256', async () => {
    const { auth, user } = await setup(get());
    const created = createdTokenSchema.parse(
      await auth.createToken({ actor: 'usr_admin', user: user.id, name: 'ci' }),
    );
    const { token, secret } = created;
    expect(secret).toMatch(TOKEN_SECRET_PATTERN);
    expect(Buffer.from(secret.slice(4), 'base64url')).toHaveLength(32);
    expect(token).toMatchObject({ userId: user.id, name: 'ci', expiresAt: null, revokedAt: null });

    const row = await tokenRow(get(), token.id);
    expect(row.token_hash).toBe(sha256Hex(secret));
    expect(JSON.stringify(row)).not.toContain(secret.slice(4));

    const listed = await auth.listTokens(user.name);
    expect(listed.map((t) => tokenSchema.strict().parse(t))).toEqual([token]);
    const everyListing = JSON.stringify([listed, await auth.listTokens()]);
    expect(everyListing).not.toContain(secret.slice(4));
    expect(everyListing).not.toContain(row.token_hash);

    const again = await auth.createToken({ actor: 'usr_admin', user: user.id, name: 'ci' });
    expect(again.secret).not.toBe(secret);
    expect(await auth.authenticate(secret)).toEqual({ userId: user.id, name: user.name, role: 'editor' });
  });

  it('refuses a revoked token, and only that one', async () => {
    const { auth, user } = await setup(get());
    const a = await auth.createToken({ actor: 'usr_admin', user: user.id, name: 'a' });
    const b = await auth.createToken({ actor: 'usr_admin', user: user.id, name: 'b' });
    await auth.authenticate(a.secret);
    const revoked = await auth.revokeToken({ actor: 'usr_admin', id: a.token.id });
    expect(revoked.revokedAt).not.toBeNull();
    await expect(auth.authenticate(a.secret)).rejects.toBeInstanceOf(UnauthenticatedError);
    expect((await auth.authenticate(b.secret)).userId).toBe(user.id);
    expect(await auth.revokeToken({ actor: 'usr_admin', id: a.token.id })).toEqual(revoked);
    await expect(auth.revokeToken({ actor: 'usr_admin', id: 'tok_nope' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('refuses a token once it has expired', async () => {
    const { auth, user, clock } = await setup(get());
    const { token, secret } = await auth.createToken({
      actor: 'a',
      user: user.id,
      name: 'short',
      expiresInDays: 1,
    });
    expect(Date.parse(token.expiresAt ?? '') - Date.parse(token.createdAt)).toBe(DAY);
    clock.advance(DAY - 1);
    await expect(auth.authenticate(secret)).resolves.toMatchObject({ userId: user.id });
    clock.advance(1);
    await expect(auth.authenticate(secret)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses the tokens of a disabled user, and will not issue new ones', async () => {
    const { auth, user } = await setup(get());
    const { secret } = await auth.createToken({ actor: 'a', user: user.id, name: 'cli' });
    await auth.authenticate(secret);
    await auth.disableUser({ actor: 'a', user: user.id });
    await expect(auth.authenticate(secret)).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(auth.createToken({ actor: 'a', user: user.id, name: 'new' })).rejects.toBeInstanceOf(
      ConflictError,
    );
  });

  it('refuses unknown and malformed secrets', async () => {
    const { auth } = await setup(get());
    const unknown = `sxt_${randomBytes(32).toString('base64url')}`;
    for (const secret of [unknown, '', 'sxt_', 'Bearer x', `${unknown}x`, unknown.slice(4)]) {
      await expect(auth.authenticate(secret), secret).rejects.toBeInstanceOf(UnauthenticatedError);
    }
  });

  it('records when a token was last used, at most once a minute', async () => {
    const { auth, user, clock } = await setup(get());
    const { token, secret } = await auth.createToken({ actor: 'a', user: user.id, name: 'hot' });
    const lastUsed = async () => (await tokenRow(get(), token.id)).last_used_at;
    expect(await lastUsed()).toBeNull();
    const t0 = clock.now();
    await auth.authenticate(secret);
    expect(await lastUsed()).toBe(t0);
    clock.advance(MINUTE - 1);
    await auth.authenticate(secret);
    expect(await lastUsed()).toBe(t0);
    clock.advance(1);
    await auth.authenticate(secret);
    expect(await lastUsed()).toBe(t0 + MINUTE);
    expect((await auth.listTokens(user.id))[0]?.lastUsedAt).toBe(new Date(t0 + MINUTE).toISOString());
  });

  it('rejects a bad token name or lifetime with a ValidationError naming the field', async () => {
    const { auth, user } = await setup(get());
    for (const name of ['', 'has space', 'x'.repeat(65)]) {
      await expect(auth.createToken({ actor: 'a', user: user.id, name }), name).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { field: 'name' },
      });
    }
    for (const expiresInDays of [0, -1, 1.5, 3651]) {
      await expect(
        auth.createToken({ actor: 'a', user: user.id, name: 'ok', expiresInDays }),
      ).rejects.toMatchObject({
        details: { field: 'expiresInDays' },
      });
    }
    await expect(auth.createToken({ actor: 'a', user: 'nobody', name: 'ok' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(await auth.listTokens(user.id)).toEqual([]);
  });
});
