import { ErrorCode, KeywardError } from '../../../src/common/errors';
import {
  ACTIONS,
  assertCan,
  can,
  PERMISSIONS,
  rankOf,
  ROLE_ORDER,
  rolesFor,
  tenantWide,
  userTarget,
  type Action,
  type Target,
} from '../../../src/auth/policy';
import { Role } from '../../../src/modules/user/role';

/**
 * The permission table, walked whole: every action × every role × every kind of target. The
 * expectations are written out here independently of src/auth/policy.ts (they are docs/api.md's
 * role table), so a change to the table must change this file too.
 */

const { PLATFORM_ADMIN: P, TENANT_ADMIN: T, MEMBER: M, AUDITOR: A } = Role;
const ALL = [P, T, M, A];
const ROLES = Object.values(Role);

interface Expected {
  /** May perform it at all (own objects, or the own tenant). */
  any: Role[];
  /** May also perform it on other users' objects, or the tenant's own objects, in its tenant. */
  others: Role[];
  /** May perform it in any tenant. */
  across: Role[];
}

const EXPECTED: Record<Action, Expected> = {
  'tenant.read': { any: ALL, others: [], across: [] },
  'tenant.create': { any: [P], others: [], across: [] },
  'tenant.delete': { any: [P], others: [], across: [P] },
  'tenant.updatePolicy': { any: [P, T], others: [], across: [] },
  'tenant.setPlatformKeyLimit': { any: [P], others: [], across: [P] },
  'datakey.rotate': { any: [P, T], others: [], across: [] },
  'datakey.rewrap': { any: [P], others: [], across: [] },
  'user.self': { any: ALL, others: [], across: [] },
  'user.list': { any: [P, T], others: [], across: [] },
  'user.create': { any: [P, T], others: [P, T], across: [] },
  'token.issue': { any: ALL, others: [P, T], across: [] },
  'token.list': { any: ALL, others: [P, T], across: [P] },
  'token.revoke': { any: ALL, others: [P, T], across: [P] },
  'credential.set': { any: [P, T, M], others: [P, T], across: [] },
  'credential.delete': { any: ALL, others: [P, T], across: [] },
  'credential.test': { any: ALL, others: [P, T], across: [] },
  'credential.list': { any: ALL, others: [P, T], across: [] },
  'credential.status': { any: ALL, others: [], across: [] },
  'model.list': { any: ALL, others: [], across: [] },
  'agent.list': { any: ALL, others: [], across: [] },
  'agent.create': { any: [P, T, M], others: [], across: [] },
  'agent.update': { any: [P, T, M], others: [P, T], across: [] },
  'agent.delete': { any: [P, T, M], others: [P, T], across: [] },
  'chat.start': { any: [P, T, M], others: [], across: [] },
  'chat.submitToolResults': { any: [P, T, M], others: [], across: [] },
  'conversation.read': { any: ALL, others: [], across: [] },
  'audit.read': { any: [P, T, A], others: [], across: [P] },
  'usage.read': { any: ALL, others: [P, T, A], across: [] },
};

const HOME = '00000000-0000-4000-8000-000000000001';
const ELSEWHERE = '00000000-0000-4000-8000-000000000002';
const principal = (role: Role) => ({ role, tenantId: HOME, userId: `caller-${role}` });
const otherUser = (role: Role, tenantId = HOME): Target => userTarget({ id: `someone-${role}`, role, tenantId });
const codeOf = (run: () => void): string | null => {
  try {
    run();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(KeywardError);
    return (error as KeywardError).code;
  }
};

describe('the table', () => {
  test('names exactly the actions expected here', () => {
    expect([...ACTIONS].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  test('roles run MEMBER < AUDITOR < TENANT_ADMIN < PLATFORM_ADMIN, and every role has a place', () => {
    expect(ROLE_ORDER).toEqual([M, A, T, P]);
    expect([...ROLE_ORDER].sort()).toEqual([...ROLES].sort());
    expect([M, A, T, P].map(rankOf)).toEqual([0, 1, 2, 3]);
  });

  test.each(ACTIONS)('%s: who may perform it on others or across tenants may perform it at all', (action) => {
    const permission = PERMISSIONS[action] as {
      roles: readonly Role[];
      onOthers?: readonly Role[];
      acrossTenants?: readonly Role[];
    };
    for (const role of [...(permission.onOthers ?? []), ...(permission.acrossTenants ?? [])])
      expect(permission.roles).toContain(role);
    expect([...rolesFor(action)].sort()).toEqual([...EXPECTED[action].any].sort());
  });
});

describe.each(ACTIONS)('%s', (action) => {
  const expected = EXPECTED[action];

  test.each(ROLES)('%s without a target, and on its own tenant or its own objects', (role) => {
    const allowed = expected.any.includes(role);
    const self = principal(role);
    expect(can(self, action)).toBe(allowed);
    expect(can(self, action, { tenantId: HOME })).toBe(allowed);
    expect(can(self, action, userTarget({ id: self.userId, role, tenantId: HOME }))).toBe(allowed);
    expect(codeOf(() => assertCan(self, action))).toBe(allowed ? null : ErrorCode.FORBIDDEN);
  });

  test.each(ROLES)("%s on other users' objects of its tenant, for every owner role", (role) => {
    for (const ownerRole of ROLES) {
      const allowed =
        expected.any.includes(role) && expected.others.includes(role) && rankOf(role) >= rankOf(ownerRole);
      expect([ownerRole, can(principal(role), action, otherUser(ownerRole))]).toEqual([ownerRole, allowed]);
      expect(codeOf(() => assertCan(principal(role), action, otherUser(ownerRole)))).toBe(
        allowed ? null : ErrorCode.FORBIDDEN,
      );
    }
  });

  test.each(ROLES)("%s on the tenant's own objects (owned by no user)", (role) => {
    const allowed = expected.any.includes(role) && expected.others.includes(role);
    expect(can(principal(role), action, tenantWide(HOME))).toBe(allowed);
  });

  test.each(ROLES)('%s in another tenant: hidden objects are NOT_FOUND, named tenants FORBIDDEN', (role) => {
    const mayAct = expected.any.includes(role);
    const across = mayAct && expected.across.includes(role);
    const hidden = { ...otherUser(M, ELSEWHERE), hiddenAs: 'Thing' };
    const hiddenAllowed = across && expected.others.includes(role);
    expect(codeOf(() => assertCan(principal(role), action, hidden))).toBe(
      hiddenAllowed ? null : !mayAct ? ErrorCode.FORBIDDEN : !across ? ErrorCode.NOT_FOUND : ErrorCode.FORBIDDEN,
    );
    expect(codeOf(() => assertCan(principal(role), action, { tenantId: ELSEWHERE }))).toBe(
      across ? null : ErrorCode.FORBIDDEN,
    );
  });
});

describe('role order: nobody acts on a role above its own', () => {
  const onUsers: Action[] = [
    'user.create',
    'token.issue',
    'token.list',
    'token.revoke',
    'credential.delete',
    'credential.test',
  ];

  test.each(onUsers)('%s on a PLATFORM_ADMIN: only a PLATFORM_ADMIN', (action) => {
    expect(ROLES.filter((role) => can(principal(role), action, otherUser(P)))).toEqual([P]);
  });

  test.each(onUsers)('%s: a TENANT_ADMIN reaches TENANT_ADMIN, AUDITOR and MEMBER, not PLATFORM_ADMIN', (action) => {
    expect(ROLES.filter((ownerRole) => can(principal(T), action, otherUser(ownerRole))).sort()).toEqual(
      [A, M, T].sort(),
    );
  });

  test('giving a role: a TENANT_ADMIN creates up to TENANT_ADMIN, a PLATFORM_ADMIN anything', () => {
    const creating = (role: Role) => ({ tenantId: HOME, ownerId: null, ownerRole: role });
    expect(ROLES.filter((role) => can(principal(T), 'user.create', creating(role))).sort()).toEqual([A, M, T].sort());
    expect(ROLES.filter((role) => can(principal(P), 'user.create', creating(role))).sort()).toEqual([...ROLES].sort());
  });

  test("the issue's escalation: a TENANT_ADMIN of the platform tenant issuing or revoking a PLATFORM_ADMIN's token", () => {
    const admin = { ...otherUser(P), hiddenAs: 'API token' };
    expect(codeOf(() => assertCan(principal(T), 'token.issue', admin))).toBe(ErrorCode.FORBIDDEN);
    expect(codeOf(() => assertCan(principal(T), 'token.revoke', admin))).toBe(ErrorCode.FORBIDDEN);
    expect(codeOf(() => assertCan(principal(T), 'token.list', admin))).toBe(ErrorCode.FORBIDDEN);
  });

  test('the caller itself is never above its own role', () => {
    for (const role of ROLES) {
      expect(can(principal(role), 'token.revoke', userTarget({ id: `caller-${role}`, role, tenantId: HOME }))).toBe(
        true,
      );
    }
  });
});
