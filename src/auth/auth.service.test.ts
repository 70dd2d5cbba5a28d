import { expect, it, onTestFinished } from 'vitest';
import { type BackendName, createTestDatabase, describeEachBackend } from '../../test/support/backends.js';
import { type AuditLog, createAuditLog } from '../audit/index.js';
import { fakeClock } from '../core/clock.js';
import { AlreadyExistsError, ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import { openStore, type Store } from '../store/index.js';
import { createAuthService, localPrincipal, PERMISSIONS, ROLES, roleAllows, userSchema } from './index.js';

const KEY = 'auth-test-audit-key-0123456789';

function setup(store: Store) {
  const clock = fakeClock();
  const audit = createAuditLog({ db: store.db, dialect: store.dialect, clock, key: KEY });
  return { clock, audit, auth: createAuthService({ db: store.db, audit, clock }) };
}

async function freshStore(backend: BackendName): Promise<Store> {
  const t = await createTestDatabase(backend);
  const store = await openStore(t.url);
  onTestFinished(async () => {
    await store.close();
    await t.drop();
  });
  return store;
}

let n = 0;
/** A name no other test uses, so tests can share one database. */
const uniq = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++n}`;

/** An audit log that fails every append, to show that the change fails with it. */
function failingAudit(audit: AuditLog): AuditLog {
  return { ...audit, append: async () => Promise.reject(new Error('audit unavailable')) };
}

describeEachBackend('auth service: users', (get, backend) => {
  it('creates a user that can be found by id and by name', async () => {
    const { auth } = setup(get());
    const name = uniq('alice');
    const user = await auth.createUser({ actor: 'usr_admin', name, role: 'editor' });
    expect(userSchema.parse(user)).toEqual({
      id: user.id,
      name,
      role: 'editor',
      createdAt: user.createdAt,
      disabledAt: null,
    });
    expect(user.id).toMatch(/^usr_/);
    expect(await auth.getUser(user.id)).toEqual(user);
    expect(await auth.getUser(name)).toEqual(user);
    expect(await auth.listUsers()).toContainEqual(user);
  });

  it('refuses a second user with the same name, and writes no entry for it', async () => {
    const { auth, audit } = setup(get());
    const name = uniq('dup');
    const first = await auth.createUser({ actor: 'usr_admin', name, role: 'viewer' });
    await expect(auth.createUser({ actor: 'usr_admin', name, role: 'admin' })).rejects.toBeInstanceOf(
      AlreadyExistsError,
    );
    expect(await audit.list({ entityType: 'user', entityId: first.id })).toHaveLength(1);
    expect((await auth.listUsers()).filter((u) => u.name === name)).toHaveLength(1);
  });

  it('rejects a bad name or role with a ValidationError naming the field', async () => {
    const { auth } = setup(get());
    for (const name of ['', 'x'.repeat(65), 'has space', 'semi;colon', 'ünï', localPrincipal.name]) {
      await expect(auth.createUser({ actor: 'usr_admin', name, role: 'viewer' }), name).rejects.toMatchObject(
        {
          code: 'VALIDATION_FAILED',
          details: { field: 'name' },
        },
      );
    }
    const role = 'superuser' as never;
    await expect(auth.createUser({ actor: 'usr_admin', name: uniq('ok'), role })).rejects.toMatchObject({
      details: { field: 'role' },
    });
    const user = await auth.createUser({ actor: 'usr_admin', name: uniq('ok'), role: 'viewer' });
    await expect(auth.setRole({ actor: 'usr_admin', user: user.id, role })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(auth.bootstrapAdmin({ name: 'bad name' })).rejects.toMatchObject({
      details: { field: 'name' },
    });
  });

  it('getUser of an unknown user is NotFoundError', async () => {
    const { auth } = setup(get());
    await expect(auth.getUser('usr_nobody')).rejects.toBeInstanceOf(NotFoundError);
    await expect(auth.setRole({ actor: 'a', user: 'nobody', role: 'admin' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(auth.disableUser({ actor: 'a', user: 'nobody' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('every change writes its audit entry, naming the actor, and never a secret or a hash', async () => {
    const { auth, audit } = setup(get());
    const user = await auth.createUser({ actor: 'usr_root', name: uniq('bob'), role: 'viewer' });
    await auth.setRole({ actor: 'usr_root', user: user.id, role: 'approver' });
    const { token, secret } = await auth.createToken({ actor: 'usr_root', user: user.id, name: 'ci' });
    await auth.revokeToken({ actor: 'usr_root', id: token.id });
    await auth.disableUser({ actor: 'usr_root', user: user.name });

    const userEntries = await audit.list({ entityType: 'user', entityId: user.id });
    expect(userEntries.map((e) => e.action).reverse()).toEqual([
      'user.created',
      'user.role_changed',
      'user.disabled',
    ]);
    // The details name the change, and record the governed row it leaves (for `audit verify --deep`).
    expect(userEntries.find((e) => e.action === 'user.role_changed')?.details).toEqual({
      from: 'viewer',
      to: 'approver',
      governed: [
        { table: 'users', id: user.id, fields: { name: user.name, role: 'approver', disabled_at: null } },
      ],
    });
    const tokenEntries = await audit.list({ entityType: 'api_token', entityId: token.id });
    expect(tokenEntries.map((e) => e.action).reverse()).toEqual(['token.created', 'token.revoked']);
    expect([...userEntries, ...tokenEntries].every((e) => e.actor === 'usr_root')).toBe(true);

    const everything = JSON.stringify(await get().db.selectFrom('audit_entries').selectAll().execute());
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(sha256Hex(secret));
    expect(everything).not.toContain(secret.slice(4));
    expect((await audit.verify()).ok).toBe(true);
  });

  it('a change whose audit entry cannot be written does not happen', async () => {
    const { auth, audit, clock } = setup(get());
    const broken = createAuthService({ db: get().db, audit: failingAudit(audit), clock });
    const name = uniq('ghost');
    await expect(broken.createUser({ actor: 'a', name, role: 'viewer' })).rejects.toThrow(
      'audit unavailable',
    );
    await expect(auth.getUser(name)).rejects.toBeInstanceOf(NotFoundError);

    const user = await auth.createUser({ actor: 'a', name: uniq('real'), role: 'viewer' });
    await expect(broken.setRole({ actor: 'a', user: user.id, role: 'admin' })).rejects.toThrow(
      'audit unavailable',
    );
    await expect(broken.disableUser({ actor: 'a', user: user.id })).rejects.toThrow('audit unavailable');
    await expect(broken.createToken({ actor: 'a', user: user.id, name: 'x' })).rejects.toThrow(
      'audit unavailable',
    );
    expect(await auth.getUser(user.id)).toEqual(user);
    expect(await auth.listTokens(user.id)).toEqual([]);
  });

  it('setting the same role, or disabling twice, changes nothing and writes nothing', async () => {
    const { auth, audit } = setup(get());
    const user = await auth.createUser({ actor: 'a', name: uniq('same'), role: 'editor' });
    expect(await auth.setRole({ actor: 'a', user: user.id, role: 'editor' })).toEqual(user);
    const disabled = await auth.disableUser({ actor: 'a', user: user.id });
    expect(disabled.disabledAt).not.toBeNull();
    expect(await auth.disableUser({ actor: 'a', user: user.id })).toEqual(disabled);
    const actions = (await audit.list({ entityType: 'user', entityId: user.id })).map((e) => e.action);
    expect(actions.sort()).toEqual(['user.created', 'user.disabled']);
  });

  it('a token grants exactly what its user role allows, read fresh on every request', async () => {
    const { auth } = setup(get());
    const user = await auth.createUser({ actor: 'a', name: uniq('roles'), role: 'viewer' });
    const { secret } = await auth.createToken({ actor: 'a', user: user.id, name: 'cli' });
    const expected = {
      viewer: ['read'],
      editor: ['read', 'write'],
      approver: ['read', 'approve'],
      admin: PERMISSIONS,
    };
    for (const role of ROLES) {
      await auth.setRole({ actor: 'a', user: user.id, role });
      const principal = await auth.authenticate(secret);
      expect(principal).toEqual({ userId: user.id, name: user.name, role });
      expect(PERMISSIONS.filter((p) => roleAllows(principal.role, p))).toEqual(expected[role]);
    }
  });

  it('ensureUser returns the existing user or creates it, once', async () => {
    const { auth, audit } = setup(get());
    const name = uniq('seed');
    const created = await auth.ensureUser({ actor: 'a', name, role: 'editor' });
    expect(await auth.ensureUser({ actor: 'a', name, role: 'admin' })).toEqual(created);
    expect(await audit.list({ entityType: 'user', entityId: created.id })).toHaveLength(1);
  });

  it('ensureLocalUser creates the row behind localPrincipal once, even when called concurrently', async () => {
    const store = await freshStore(backend);
    const { auth, audit } = setup(store);
    const users = await Promise.all(Array.from({ length: 5 }, () => auth.ensureLocalUser()));
    for (const u of users)
      expect(u).toMatchObject({ id: localPrincipal.userId, name: 'local', role: 'admin' });
    expect(await audit.list({ entityType: 'user', entityId: localPrincipal.userId })).toHaveLength(1);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('bootstrapAdmin creates the first admin and a working token, and only once', async () => {
    const store = await freshStore(backend);
    const { auth, audit } = setup(store);
    await auth.ensureLocalUser(); // the local admin of an auth-off workspace must not block bootstrapping
    const { user, token, secret } = await auth.bootstrapAdmin({ name: 'root' });
    expect(user).toMatchObject({ name: 'root', role: 'admin' });
    expect(token.userId).toBe(user.id);
    expect(await auth.authenticate(secret)).toEqual({ userId: user.id, name: 'root', role: 'admin' });
    await expect(auth.bootstrapAdmin({ name: 'root2' })).rejects.toBeInstanceOf(ConflictError);
    await auth.disableUser({ actor: user.id, user: user.id });
    await expect(auth.bootstrapAdmin({ name: 'root3' })).rejects.toBeInstanceOf(ConflictError);
    const entries = await audit.list({ entityId: user.id });
    expect(entries.map((e) => e.actor)).toContain('system');
    expect((await audit.verify()).ok).toBe(true);
  });

  it('of concurrent bootstraps exactly one succeeds', async () => {
    const store = await freshStore(backend);
    const { auth } = setup(store);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => auth.bootstrapAdmin({ name: `root${i}` })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConflictError);
    expect((await auth.listUsers()).filter((u) => u.role === 'admin')).toHaveLength(1);
  });
});
