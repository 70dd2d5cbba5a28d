import { z } from 'zod';
import { type AuditLog, governedRow } from '../audit/index.js';
import { type Clock, toIso } from '../core/clock.js';
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../core/errors.js';
import { newId } from '../core/ids.js';
import { type Db, type Executor, inTransaction, type UserTable } from '../store/index.js';
import { parseInput, toUser } from './auth.dto.js';
import { createAuthRepo } from './auth.repo.js';
import {
  type CreatedToken,
  createUserInputSchema,
  localPrincipal,
  type Permission,
  type Principal,
  type Role,
  roleAllows,
  roleSchema,
  type Token,
  type TokenOrigin,
  type User,
  userNameSchema,
} from './auth.schema.js';
import { createTokenService } from './token.service.js';

/** The actor of changes nobody asked for by name: bootstrapping, the local workspace user. */
const SYSTEM_ACTOR = 'system';

export interface AuthServiceDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
}

/** `actor` is who makes a change (a user id, or "system"); `user` is a user's id or name. */
export interface AuthService {
  createUser(input: { actor: string; name: string; role: Role }): Promise<User>;
  /** The user of that name as it is, or a new one; for setup scripts that must be safe to re-run. */
  ensureUser(input: { actor: string; name: string; role: Role }): Promise<User>;
  listUsers(): Promise<User[]>;
  getUser(idOrName: string): Promise<User>;
  setRole(input: { actor: string; user: string; role: Role }): Promise<User>;
  /** Idempotent; the user's tokens stop working at once but are kept (and stay listed). */
  disableUser(input: { actor: string; user: string }): Promise<User>;
  createToken(input: {
    actor: string;
    user: string;
    name: string;
    expiresInDays?: number;
    /** How the caller reached this (default 'local': in-process, on the workspace files). */
    mintedUnder?: TokenOrigin;
  }): Promise<CreatedToken>;
  /** Revokes a token and mints its replacement (same user, name, expiry) under `mintedUnder`. */
  reissueToken(input: { actor: string; id: string; mintedUnder: TokenOrigin }): Promise<CreatedToken>;
  listTokens(user?: string): Promise<Token[]>;
  revokeToken(input: { actor: string; id: string }): Promise<Token>;
  /** The principal behind a secret; UnauthenticatedError if unknown, revoked, expired or its user disabled. */
  authenticate(secret: string): Promise<Principal>;
  /** The first admin and its token; ConflictError once any admin (other than the local user) exists. */
  bootstrapAdmin(input: { name: string }): Promise<CreatedToken & { user: User }>;
  /** Makes sure the row behind localPrincipal exists, so that what it does can reference it. */
  ensureLocalUser(): Promise<User>;
}

/** Throws ForbiddenError unless the principal's role grants the permission. */
export function assertAllowed(principal: Principal, permission: Permission): void {
  if (!roleAllows(principal.role, permission)) {
    throw new ForbiddenError(`${principal.name} (${principal.role}) may not ${permission}`, {
      permission,
      role: principal.role,
    });
  }
}

// A real user named like the local principal would be indistinguishable from it in the audit trail.
function assertNotReserved(name: string): void {
  if (name === localPrincipal.name) {
    throw new ValidationError(`name: '${name}' is reserved for the local workspace user`, { field: 'name' });
  }
}

/** Users, roles and API tokens; every change and its audit entry commit in one transaction. */
export function createAuthService({ db, audit, clock }: AuthServiceDeps): AuthService {
  const repo = createAuthRepo(db);
  const tokens = createTokenService({ db, audit, clock, repo });

  async function getUserRow(tx: Executor, idOrName: string): Promise<UserTable> {
    const row = await repo.findUserByIdOrName({ tx, idOrName });
    if (!row) throw new NotFoundError('user', idOrName);
    return row;
  }

  function newUserRow(name: string, role: Role): UserTable {
    const now = clock.now();
    return { id: newId('usr', now), name, role, created_at: now, disabled_at: null };
  }

  function auditUserCreated(tx: Executor, actor: string, row: UserTable) {
    const user = toUser(row);
    return audit.append(tx, {
      actor,
      action: 'user.created',
      entityType: 'user',
      entityId: user.id,
      after: user,
      details: { name: user.name, role: user.role },
      governed: [governedRow('users', row)],
    });
  }

  async function createUser(input: { actor: string; name: string; role: Role }): Promise<User> {
    const { name, role } = parseInput(createUserInputSchema, { name: input.name, role: input.role });
    assertNotReserved(name);
    return inTransaction(db, async (tx) => {
      if (await repo.findUserByName({ tx, name })) throw new AlreadyExistsError('user', name);
      const row = newUserRow(name, role);
      await repo.insertUser({ tx, user: row });
      const user = toUser(row);
      await auditUserCreated(tx, input.actor, row);
      return user;
    });
  }

  return {
    createUser,

    async ensureUser(input) {
      const existing = await repo.findUserByName({ name: input.name });
      if (existing) return toUser(existing);
      try {
        return await createUser(input);
      } catch (err) {
        // Lost a race with another creator of the same name: theirs is the user.
        if (err instanceof AlreadyExistsError) return toUser(await getUserRow(db, input.name));
        throw err;
      }
    },

    async listUsers() {
      return (await repo.listUsers()).map(toUser);
    },

    async getUser(idOrName) {
      return toUser(await getUserRow(db, idOrName));
    },

    async setRole({ actor, user, role }) {
      const next = parseInput(z.object({ role: roleSchema }), { role }).role;
      return inTransaction(db, async (tx) => {
        const row = await getUserRow(tx, user);
        const before = toUser(row);
        if (before.role === next) return before;
        await repo.updateUser({ tx, id: row.id, set: { role: next } });
        const after = { ...before, role: next };
        await audit.append(tx, {
          actor,
          action: 'user.role_changed',
          entityType: 'user',
          entityId: row.id,
          before,
          after,
          details: { from: before.role, to: next },
          governed: [governedRow('users', { ...row, role: next })],
        });
        return after;
      });
    },

    async disableUser({ actor, user }) {
      return inTransaction(db, async (tx) => {
        const row = await getUserRow(tx, user);
        const before = toUser(row);
        if (row.disabled_at !== null) return before;
        const now = clock.now();
        await repo.updateUser({ tx, id: row.id, set: { disabled_at: now } });
        const after = { ...before, disabledAt: toIso(now) };
        await audit.append(tx, {
          actor,
          action: 'user.disabled',
          entityType: 'user',
          entityId: row.id,
          before,
          after,
          governed: [governedRow('users', { ...row, disabled_at: now })],
        });
        return after;
      });
    },

    createToken: tokens.createToken,
    reissueToken: tokens.reissueToken,
    listTokens: tokens.listTokens,
    revokeToken: tokens.revokeToken,
    authenticate: tokens.authenticate,

    async bootstrapAdmin({ name: input }) {
      const { name } = parseInput(z.object({ name: userNameSchema }), { name: input });
      assertNotReserved(name);
      return inTransaction(db, async (tx) => {
        const row = newUserRow(name, 'admin');
        const user = toUser(row);
        /*
         * Appending first takes the audit chain's lock (every audited write on PostgreSQL queues on it;
         * SQLite holds the write lock already), so the check below sees an admin that a concurrent
         * bootstrap committed, and two bootstraps cannot both succeed.
         */
        await auditUserCreated(tx, SYSTEM_ACTOR, row);
        // The local workspace user is an admin by construction; it must not block turning auth on.
        if (await repo.hasAdmin({ tx, except: [localPrincipal.userId] })) {
          throw new ConflictError('an admin already exists; ask an admin for a token instead');
        }
        await repo.insertUser({ tx, user: row });
        const created = await tokens.issueToken(tx, {
          actor: SYSTEM_ACTOR,
          owner: row,
          name: 'bootstrap',
          expiresAt: null,
          mintedUnder: 'local',
        });
        return { user, ...created };
      });
    },

    async ensureLocalUser() {
      const existing = await repo.findUserById({ id: localPrincipal.userId });
      if (existing) return toUser(existing);
      return inTransaction(db, async (tx) => {
        const { userId: id, name, role } = localPrincipal;
        const row: UserTable = { id, name, role, created_at: clock.now(), disabled_at: null };
        if (!(await repo.insertUserIfAbsent({ tx, user: row }))) {
          const raced = await repo.findUserById({ tx, id });
          if (raced) return toUser(raced);
          throw new ConflictError(`a user named '${name}' exists, so the local user cannot be created`, {
            name,
          });
        }
        await auditUserCreated(tx, SYSTEM_ACTOR, row);
        return toUser(row);
      });
    },
  };
}
