export type { CreatedToken, Permission, Principal, Role, Token, TokenOrigin, User } from './auth.schema.js';
export {
  /** zod contract of the reply to creating a token (the one time its secret is shown). */
  createdTokenSchema,
  /** zod contract of createToken's input: name, expiresInDays?. */
  createTokenInputSchema,
  /** zod contract of createUser's input: name, role. */
  createUserInputSchema,
  /** The principal of every call when auth is off: the local admin, user id 'usr_local'. */
  localPrincipal,
  /** Permission names a route or command may demand: read, write, approve, admin. */
  PERMISSIONS,
  /** zod enum of the permissions. */
  permissionSchema,
  /** zod contract of a principal: userId, name, role. */
  principalSchema,
  /** Role names, least to most trusted: viewer, editor, approver, admin. */
  ROLES,
  /** True when a role grants a permission, e.g. roleAllows('approver', 'write') === false. */
  roleAllows,
  /** zod enum of the roles. */
  roleSchema,
  /** How a token was minted: authenticated, local, auth-off (refused when auth is on), legacy. */
  TOKEN_ORIGINS,
  /** The shape of an API token secret: `sxt_` + 43 base64url characters. */
  TOKEN_SECRET_PATTERN,
  /** zod contract of a token name (same alphabet as user names). */
  tokenNameSchema,
  /** zod enum of the token origins. */
  tokenOriginSchema,
  /** zod contract of a token as listed: never its secret or hash. */
  tokenSchema,
  /** zod contract of a user name: 1..64 of [A-Za-z0-9_.@-]. */
  userNameSchema,
  /** zod contract of a user. */
  userSchema,
} from './auth.schema.js';
export type { AuthService, AuthServiceDeps } from './auth.service.js';
export {
  /** Throws ForbiddenError unless the principal's role grants the permission. */
  assertAllowed,
  /** Creates the users / roles / tokens service: createAuthService({ db, audit, clock }). */
  createAuthService,
} from './auth.service.js';
