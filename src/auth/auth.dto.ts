import type { z } from 'zod';
import { toIso } from '../core/clock.js';
import { IntegrityError, ValidationError } from '../core/errors.js';
import type { UserTable } from '../store/index.js';
import type { TokenRow } from './auth.repo.js';
import { ROLES, type Role, TOKEN_ORIGINS, type Token, type TokenOrigin, type User } from './auth.schema.js';

/** Parses service input; the first problem becomes a ValidationError naming its field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'input';
  throw new ValidationError(`${field}: ${issue?.message ?? 'invalid'}`, { field });
}

/** An unknown role read from the database must never be mistaken for some permission. */
export function toRole(value: string): Role {
  if ((ROLES as readonly string[]).includes(value)) return value as Role;
  throw new IntegrityError(`unknown role '${value}' in the database`, { role: value });
}

/** An unknown origin read from the database is treated as the least trusted one. */
export function toTokenOrigin(value: string): TokenOrigin {
  return (TOKEN_ORIGINS as readonly string[]).includes(value) ? (value as TokenOrigin) : 'auth-off';
}

export function toUser(row: UserTable): User {
  return {
    id: row.id,
    name: row.name,
    role: toRole(row.role),
    createdAt: toIso(row.created_at),
    disabledAt: row.disabled_at === null ? null : toIso(row.disabled_at),
  };
}

/** Field by field, so that a row that happens to carry token_hash can never leak it. */
export function toToken(row: TokenRow): Token {
  const iso = (ms: number | null) => (ms === null ? null : toIso(ms));
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    createdAt: toIso(row.created_at),
    expiresAt: iso(row.expires_at),
    lastUsedAt: iso(row.last_used_at),
    revokedAt: iso(row.revoked_at),
    mintedUnder: toTokenOrigin(row.minted_under),
  };
}
