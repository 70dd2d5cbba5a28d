import { randomBytes } from 'node:crypto';
import { type AuditLog, governedRow } from '../audit/index.js';
import { type Clock, toIso } from '../core/clock.js';
import { ConflictError, NotFoundError, UnauthenticatedError } from '../core/errors.js';
import { sha256Hex } from '../core/hashing.js';
import { newId } from '../core/ids.js';
import { type ApiTokenTable, type Db, type Executor, inTransaction, type UserTable } from '../store/index.js';
import { parseInput, toRole, toToken } from './auth.dto.js';
import type { AuthRepo } from './auth.repo.js';
import {
  type CreatedToken,
  createTokenInputSchema,
  type Principal,
  TOKEN_SECRET_PATTERN,
  type Token,
  type TokenOrigin,
} from './auth.schema.js';

/** last_used_at is written at most this often per token, so authenticating is usually one read. */
const TOUCH_EVERY_MS = 60_000;
const DAY_MS = 86_400_000;

export interface TokenServiceDeps {
  db: Db;
  audit: AuditLog;
  clock: Clock;
  repo: AuthRepo;
}

/** API tokens: only sha256(secret) is stored, so a leaked database holds no usable credential. */
export function createTokenService({ db, audit, clock, repo }: TokenServiceDeps) {
  async function getOwner(tx: Executor, idOrName: string): Promise<UserTable> {
    const row = await repo.findUserByIdOrName({ tx, idOrName });
    if (!row) throw new NotFoundError('user', idOrName);
    return row;
  }

  /** The token row as the revocation left it, hash included, for the audit entry to record. */
  async function revokedRow(tx: Executor, id: string) {
    const full = await repo.findTokenRow({ tx, id });
    if (!full) throw new NotFoundError('api token', id);
    return governedRow('api_tokens', full);
  }

  /** Creates a token inside the caller's transaction; the secret is in the reply and nowhere else. */
  async function issueToken(
    tx: Executor,
    {
      actor,
      owner,
      name,
      expiresAt,
      mintedUnder,
    }: { actor: string; owner: UserTable; name: string; expiresAt: number | null; mintedUnder: TokenOrigin },
  ): Promise<CreatedToken> {
    const now = clock.now();
    const secret = `sxt_${randomBytes(32).toString('base64url')}`;
    const row: ApiTokenTable = {
      id: newId('tok', now),
      user_id: owner.id,
      name,
      token_hash: sha256Hex(secret),
      created_at: now,
      expires_at: expiresAt,
      last_used_at: null,
      revoked_at: null,
      minted_under: mintedUnder,
    };
    await repo.insertToken({ tx, token: row });
    const token = toToken(row);
    await audit.append(tx, {
      actor,
      action: 'token.created',
      entityType: 'api_token',
      entityId: token.id,
      after: token,
      details: { userId: owner.id, name, expiresAt: token.expiresAt, mintedUnder },
      governed: [governedRow('api_tokens', row)],
    });
    return { token, secret };
  }

  return {
    issueToken,

    async createToken(input: {
      actor: string;
      user: string;
      name: string;
      expiresInDays?: number;
      mintedUnder?: TokenOrigin;
    }): Promise<CreatedToken> {
      const { name, expiresInDays } = parseInput(createTokenInputSchema, {
        name: input.name,
        expiresInDays: input.expiresInDays,
      });
      return inTransaction(db, async (tx) => {
        const owner = await getOwner(tx, input.user);
        if (owner.disabled_at !== null) {
          throw new ConflictError(`user '${owner.name}' is disabled`, { userId: owner.id });
        }
        const expiresAt = expiresInDays === undefined ? null : clock.now() + expiresInDays * DAY_MS;
        return issueToken(tx, {
          actor: input.actor,
          owner,
          name,
          expiresAt,
          mintedUnder: input.mintedUnder ?? 'local',
        });
      });
    },

    /**
     * A new token for the same user, name and expiry, minted under `mintedUnder`; the old one is
     * revoked in the same transaction. The way to keep a token minted while auth was off.
     */
    async reissueToken({
      actor,
      id,
      mintedUnder,
    }: {
      actor: string;
      id: string;
      mintedUnder: TokenOrigin;
    }): Promise<CreatedToken> {
      return inTransaction(db, async (tx) => {
        const row = await repo.findToken({ tx, id });
        if (!row) throw new NotFoundError('api token', id);
        if (row.revoked_at !== null) {
          throw new ConflictError(`token ${id} is revoked; create a new one instead`, { tokenId: id });
        }
        const owner = await getOwner(tx, row.user_id);
        if (owner.disabled_at !== null) {
          throw new ConflictError(`user '${owner.name}' is disabled`, { userId: owner.id });
        }
        const before = toToken(row);
        const now = clock.now();
        await repo.revokeToken({ tx, id, at: now });
        await audit.append(tx, {
          actor,
          action: 'token.revoked',
          entityType: 'api_token',
          entityId: id,
          before,
          after: { ...before, revokedAt: toIso(now) },
          details: { userId: row.user_id, reissued: true },
          governed: [await revokedRow(tx, id)],
        });
        return issueToken(tx, { actor, owner, name: row.name, expiresAt: row.expires_at, mintedUnder });
      });
    },

    async listTokens(user?: string): Promise<Token[]> {
      const userId = user === undefined ? undefined : (await getOwner(db, user)).id;
      return (await repo.listTokens(userId === undefined ? {} : { userId })).map(toToken);
    },

    /** Idempotent: revoking a revoked token changes nothing and writes no entry. */
    async revokeToken({ actor, id }: { actor: string; id: string }): Promise<Token> {
      return inTransaction(db, async (tx) => {
        const row = await repo.findToken({ tx, id });
        if (!row) throw new NotFoundError('api token', id);
        const before = toToken(row);
        if (row.revoked_at !== null) return before;
        const now = clock.now();
        await repo.revokeToken({ tx, id, at: now });
        const after = { ...before, revokedAt: toIso(now) };
        await audit.append(tx, {
          actor,
          action: 'token.revoked',
          entityType: 'api_token',
          entityId: id,
          before,
          after,
          details: { userId: row.user_id },
          governed: [await revokedRow(tx, id)],
        });
        return after;
      });
    },

    /*
     * The role is read from the user on every call, never cached in the token, so a role change or a
     * disabled user takes effect on the next request. Recording use is bookkeeping, not a change of
     * state, and is not audited: it would put a write on every request.
     */
    async authenticate(secret: string): Promise<Principal> {
      if (!TOKEN_SECRET_PATTERN.test(secret)) throw new UnauthenticatedError('the API token is malformed');
      const row = await repo.findTokenOwnerByHash({ tokenHash: sha256Hex(secret) });
      if (!row) throw new UnauthenticatedError('the API token is not known');
      const now = clock.now();
      if (row.revoked_at !== null) throw new UnauthenticatedError('the API token has been revoked');
      if (row.expires_at !== null && now >= row.expires_at) {
        throw new UnauthenticatedError('the API token has expired');
      }
      if (row.user_disabled_at !== null) {
        throw new UnauthenticatedError('the API token belongs to a disabled user');
      }
      // Anyone who reached the port could mint it (auth was off): it never carries over to auth on.
      if (row.minted_under === 'auth-off') {
        throw new UnauthenticatedError(
          `the API token was minted while auth was off; an admin must re-issue it (sextant tokens reissue ${row.id})`,
        );
      }
      if (row.last_used_at === null || now - row.last_used_at >= TOUCH_EVERY_MS) {
        await repo.touchToken({ id: row.id, at: now, staleBefore: now - TOUCH_EVERY_MS });
      }
      return { userId: row.user_id, name: row.user_name, role: toRole(row.user_role) };
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
