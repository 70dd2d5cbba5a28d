import { createContext, useContext } from 'react';
import type { Permission, Principal } from '../../src/auth/auth.schema.js';
import { roleAllows } from '../../src/auth/auth.schema.js';

/** Who is signed in; the UI offers only what their role may do (the server enforces it anyway). */
export const SessionContext = createContext<Principal | null>(null);

export function usePrincipal(): Principal | null {
  return useContext(SessionContext);
}

/** True when the signed-in role grants the permission. */
export function useCan(permission: Permission): boolean {
  const principal = useContext(SessionContext);
  return principal !== null && roleAllows(principal.role, permission);
}
