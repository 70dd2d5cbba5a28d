import { describe, expect, it } from 'vitest';
import { ForbiddenError } from '../core/errors.js';
import {
  assertAllowed,
  localPrincipal,
  PERMISSIONS,
  type Permission,
  ROLES,
  type Role,
  roleAllows,
  userNameSchema,
} from './index.js';

/** The matrix written out by hand, so a change to the code cannot quietly change the expectation. */
const expected: Record<Role, Permission[]> = {
  viewer: ['read'],
  editor: ['read', 'write'],
  approver: ['read', 'approve'],
  admin: ['read', 'write', 'approve', 'admin'],
};

describe('roles and permissions', () => {
  for (const role of ROLES) {
    for (const permission of PERMISSIONS) {
      const allowed = expected[role].includes(permission);
      it(`${role} ${allowed ? 'may' : 'may not'} ${permission}`, () => {
        expect(roleAllows(role, permission)).toBe(allowed);
        const principal = { userId: 'usr_x', name: 'x', role };
        if (allowed) expect(() => assertAllowed(principal, permission)).not.toThrow();
        else expect(() => assertAllowed(principal, permission)).toThrow(ForbiddenError);
      });
    }
  }

  it('approvers review but never write', () => {
    expect(roleAllows('approver', 'approve')).toBe(true);
    expect(roleAllows('approver', 'write')).toBe(false);
    expect(roleAllows('editor', 'approve')).toBe(false);
  });

  it('the local principal is an admin with a fixed id', () => {
    expect(localPrincipal).toEqual({ userId: 'usr_local', name: 'local', role: 'admin' });
    expect(Object.isFrozen(localPrincipal)).toBe(true);
  });

  it('user names are 1..64 characters of letters, digits and _ . @ -', () => {
    for (const ok of ['a', 'alice', 'a.b-c_d@example.com', 'x'.repeat(64)]) {
      expect(userNameSchema.safeParse(ok).success, ok).toBe(true);
    }
    for (const bad of ['', 'x'.repeat(65), 'has space', 'semi;colon', 'sl/ash', 'ünï', 'tab\t']) {
      expect(userNameSchema.safeParse(bad).success, bad).toBe(false);
    }
  });
});
