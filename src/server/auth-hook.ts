import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type AuthService, localPrincipal, type Principal, roleAllows } from '../auth/index.js';
import type { AuthMode } from '../core/config.js';
import { ForbiddenError, UnauthenticatedError } from '../core/errors.js';

/** The bearer secret of a request: `Authorization: Bearer <token>`, or Basic with the token as password (MLflow's username/password settings). */
function secretOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/**
 * Authenticates each request before its body is read and checks the permission its route declares.
 * With auth off every caller is the local admin; the server then listens on loopback only.
 */
export function installAuthHook(
  app: FastifyInstance,
  { mode, auth }: { mode: AuthMode; auth: AuthService },
): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config.permission;
    if (mode === 'off') {
      request.principal = localPrincipal;
      return;
    }
    if (permission === 'public') return;
    const secret = secretOf(request);
    if (!secret) throw new UnauthenticatedError();
    const principal = await auth.authenticate(secret);
    // No declared permission (only the not-found handler): authenticated callers learn it is a 404,
    // anonymous ones learn nothing about which paths exist.
    if (permission !== undefined && !roleAllows(principal.role, permission)) {
      throw new ForbiddenError(
        `role '${principal.role}' lacks the '${permission}' permission this endpoint needs`,
        {
          permission,
        },
      );
    }
    request.principal = principal;
  });
}
