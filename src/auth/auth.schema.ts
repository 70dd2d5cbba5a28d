import { z } from 'zod';

/** Roles, from least to most trusted. */
export const ROLES = ['viewer', 'editor', 'approver', 'admin'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/** What a route or command may demand of its caller. */
export const PERMISSIONS = ['read', 'write', 'approve', 'admin'] as const;
export const permissionSchema = z.enum(PERMISSIONS);
export type Permission = z.infer<typeof permissionSchema>;

/*
 * Approvers review but do not write: keeping "approve" apart from "write" is what lets a promotion
 * policy demand that the person who approves a model is not the one who changed it.
 */
const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  viewer: ['read'],
  editor: ['read', 'write'],
  approver: ['read', 'approve'],
  admin: PERMISSIONS,
};

/** True when the role grants the permission, e.g. roleAllows('approver', 'write') === false. */
export function roleAllows(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

/** A user name: an identifier that is safe in URLs, logs and CLI arguments. */
export const userNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.@-]+$/, 'may contain only letters, digits and _ . @ -');

/** A token name says where the token is used ("ci", "laptop"); same alphabet as user names. */
export const tokenNameSchema = userNameSchema;

export const createUserInputSchema = z.object({ name: userNameSchema, role: roleSchema });
export const createTokenInputSchema = z.object({
  name: tokenNameSchema,
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});

export const userSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: roleSchema,
  createdAt: z.iso.datetime(),
  disabledAt: z.iso.datetime().nullable(),
});
export type User = z.infer<typeof userSchema>;

/** A token as anyone may see it: never its secret, never its hash. */
/**
 * How a token was minted: by an authenticated admin over HTTP, by the CLI on the workspace files
 * (whoever can do that can edit the database anyway), over HTTP while auth was off (anyone who
 * reached the port: refused once auth is on), or before this was recorded.
 */
export const TOKEN_ORIGINS = ['authenticated', 'local', 'auth-off', 'legacy'] as const;
export const tokenOriginSchema = z.enum(TOKEN_ORIGINS);
export type TokenOrigin = z.infer<typeof tokenOriginSchema>;

export const tokenSchema = z.object({
  id: z.string(),
  userId: z.string(),
  name: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  mintedUnder: tokenOriginSchema,
});
export type Token = z.infer<typeof tokenSchema>;

/** The reply to creating a token: the only time the secret is ever shown. */
export const createdTokenSchema = z.object({ token: tokenSchema, secret: z.string() });
export type CreatedToken = z.infer<typeof createdTokenSchema>;

/** Who is calling, as the permission checks see it. */
export const principalSchema = z.object({ userId: z.string(), name: z.string(), role: roleSchema });
export type Principal = z.infer<typeof principalSchema>;

/** The principal of every call when authentication is off (a single-user workspace). */
export const localPrincipal: Readonly<Principal> = Object.freeze({
  userId: 'usr_local',
  name: 'local',
  role: 'admin',
});

/** What a secret looks like: a prefix that secret scanners can spot, then 32 random bytes in base64url. */
export const TOKEN_SECRET_PATTERN = /^sxt_[A-Za-z0-9_-]{43}$/;
