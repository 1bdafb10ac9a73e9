import { randomUUID } from 'node:crypto';
import {
  CREATE_TENANT,
  CREATE_USER,
  DELETE_TENANT,
  ISSUE_TOKEN,
  ME,
  REVOKE_TOKEN,
  SET_PREFERRED_MODEL,
  TENANT,
  UPDATE_POLICY,
  USERS,
  type RoleName,
} from '../support/documents';
import { seed, SeededTenant, uniqueEmail, uniqueName, type UserFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { failCode, ok } from '../support/graphql-client';
import { rowsForTenantAttempt, tenantRowCounts } from '../support/sql';

let gw: TestGateway;
let platformTenantId: string;
let a: SeededTenant;
let b: SeededTenant;
let memberA: UserFixture;
let auditorA: UserFixture;
let memberB: UserFixture;

beforeAll(async () => {
  gw = await startTestGateway();
  platformTenantId = (await ok(gw, gw.platformToken, ME)).me.tenant.id;
  a = await seed(gw).tenant({ prefix: 'roles-a' });
  b = await seed(gw).tenant({ prefix: 'roles-b' });
  memberA = await a.member();
  auditorA = await a.auditor();
  memberB = await b.member();
});
afterAll(() => gw?.stop());

/** The token of each role in tenant A. */
const tokenOf = (role: 'TENANT_ADMIN' | 'MEMBER' | 'AUDITOR'): string =>
  ({ TENANT_ADMIN: a.adminToken, MEMBER: memberA.token, AUDITOR: auditorA.token })[role];

const meId = async (token: string): Promise<string> => (await ok(gw, token, ME)).me.id;

describe('me and tenant', () => {
  test.each(['TENANT_ADMIN', 'MEMBER', 'AUDITOR'] as const)('%s sees itself and its own tenant', async (role) => {
    const me = (await ok(gw, tokenOf(role), ME)).me;
    expect(me).toMatchObject({ role, tenant: { id: a.tenantId, name: a.tenantName } });
    expect((await ok(gw, tokenOf(role), TENANT)).tenant).toMatchObject({ id: a.tenantId, name: a.tenantName });
  });

  test('the platform admin belongs to the platform tenant', async () => {
    const me = (await ok(gw, gw.platformToken, ME)).me;
    expect(me.role).toBe('PLATFORM_ADMIN');
    expect(me.tenant.id).not.toBe(a.tenantId);
    expect((await ok(gw, gw.platformToken, TENANT)).tenant.id).toBe(platformTenantId);
  });
});

describe('users', () => {
  test('a tenant admin lists exactly its own tenant’s users', async () => {
    const users: Array<{ id: string; tenant: { id: string } }> = (await ok(gw, a.adminToken, USERS)).users;
    const ids = users.map((u) => u.id);
    expect(ids).toEqual(expect.arrayContaining([a.adminId, memberA.userId, auditorA.userId]));
    expect(ids).not.toContain(b.adminId);
    expect(ids).not.toContain(memberB.userId);
    expect(users.every((u) => u.tenant.id === a.tenantId)).toBe(true);
    expect(users).toHaveLength((await tenantRowCounts(a.tenantId)).users);
  });

  test('the platform admin lists only the platform tenant’s users', async () => {
    const users: Array<{ id: string; tenant: { id: string } }> = (await ok(gw, gw.platformToken, USERS)).users;
    expect(users.every((u) => u.tenant.id === platformTenantId)).toBe(true);
    expect(users.map((u) => u.id)).not.toContain(a.adminId);
  });

  test.each(['MEMBER', 'AUDITOR'] as const)('%s → FORBIDDEN', async (role) => {
    expect(await failCode(gw, tokenOf(role), USERS)).toBe('FORBIDDEN');
  });
});

describe('createTenant', () => {
  test('PLATFORM_ADMIN gets the tenant, its TENANT_ADMIN and a working token for that admin', async () => {
    const name = uniqueName('New Tenant');
    const adminEmail = uniqueEmail('Boss').toUpperCase();
    const created = (await ok(gw, gw.platformToken, CREATE_TENANT, { input: { name, adminEmail } })).createTenant;
    expect(created.tenant).toMatchObject({ name, dataKeyVersion: 1 });
    expect(created.admin).toMatchObject({
      email: adminEmail.toLowerCase(),
      role: 'TENANT_ADMIN',
      tenant: { id: created.tenant.id },
    });
    expect(created.token).toMatch(/^kw_[A-Za-z0-9_-]{20,}$/);
    const me = (await ok(gw, created.token, ME)).me;
    expect(me).toMatchObject({ id: created.admin.id, role: 'TENANT_ADMIN', tenant: { id: created.tenant.id } });
  });

  test.each(['TENANT_ADMIN', 'MEMBER', 'AUDITOR'] as const)('%s → FORBIDDEN, nothing written', async (role) => {
    const input = { name: uniqueName('refused'), adminEmail: uniqueEmail('refused') };
    expect(await failCode(gw, tokenOf(role), CREATE_TENANT, { input })).toBe('FORBIDDEN');
    expect(await rowsForTenantAttempt(input.name, input.adminEmail)).toEqual({ tenants: 0, users: 0 });
  });
});

describe('createUser', () => {
  test.each(['TENANT_ADMIN', 'MEMBER', 'AUDITOR'] as const)(
    'a TENANT_ADMIN creates a %s in its own tenant',
    async (role) => {
      const email = uniqueEmail(role);
      const user = (await ok(gw, a.adminToken, CREATE_USER, { input: { email, role } })).createUser;
      expect(user).toEqual({ id: expect.any(String), email: email.toLowerCase(), role, tenant: { id: a.tenantId } });
      const listed = (await ok(gw, a.adminToken, USERS)).users.map((u: { id: string }) => u.id);
      expect(listed).toContain(user.id);
    },
  );

  test('a PLATFORM_ADMIN creates users, platform admins included, in the platform tenant', async () => {
    const input = { email: uniqueEmail('operator'), role: 'PLATFORM_ADMIN' };
    const user = (await ok(gw, gw.platformToken, CREATE_USER, { input })).createUser;
    expect(user).toMatchObject({ role: 'PLATFORM_ADMIN', tenant: { id: platformTenantId } });
  });

  test('a TENANT_ADMIN cannot create a PLATFORM_ADMIN → FORBIDDEN, nothing written', async () => {
    const before = await tenantRowCounts(a.tenantId);
    const input = { email: uniqueEmail('escalate'), role: 'PLATFORM_ADMIN' };
    expect(await failCode(gw, a.adminToken, CREATE_USER, { input })).toBe('FORBIDDEN');
    expect(await tenantRowCounts(a.tenantId)).toEqual(before);
  });

  test.each(['MEMBER', 'AUDITOR'] as const)('%s → FORBIDDEN, nothing written', async (role) => {
    const before = await tenantRowCounts(a.tenantId);
    const input = { email: uniqueEmail('sneaky'), role: 'MEMBER' };
    expect(await failCode(gw, tokenOf(role), CREATE_USER, { input })).toBe('FORBIDDEN');
    expect(await tenantRowCounts(a.tenantId)).toEqual(before);
  });
});

describe('issueApiToken', () => {
  test.each(['TENANT_ADMIN', 'MEMBER', 'AUDITOR'] as const)('%s issues a working token for itself', async (role) => {
    const self = await meId(tokenOf(role));
    for (const input of [{ name: uniqueName('self') }, { name: uniqueName('self-explicit'), userId: self }]) {
      const issued = (await ok(gw, tokenOf(role), ISSUE_TOKEN, { input })).issueApiToken;
      expect(issued.apiToken).toMatchObject({
        name: input.name,
        user: { id: self },
        revokedAt: null,
        lastUsedAt: null,
      });
      expect(await meId(issued.token)).toBe(self);
    }
  });

  test('an admin issues a token for another user of its tenant, which acts as that user', async () => {
    const input = { name: uniqueName('for-member'), userId: memberA.userId };
    const issued = (await ok(gw, a.adminToken, ISSUE_TOKEN, { input })).issueApiToken;
    expect(issued.apiToken.user.id).toBe(memberA.userId);
    expect(await meId(issued.token)).toBe(memberA.userId);
  });

  test.each(['MEMBER', 'AUDITOR'] as const)(
    '%s issuing for another user → FORBIDDEN, nothing written',
    async (role) => {
      const before = await tenantRowCounts(a.tenantId);
      const input = { name: uniqueName('other'), userId: a.adminId };
      expect(await failCode(gw, tokenOf(role), ISSUE_TOKEN, { input })).toBe('FORBIDDEN');
      expect(await tenantRowCounts(a.tenantId)).toEqual(before);
    },
  );

  test.each([
    ['TENANT_ADMIN', () => a.adminToken],
    ['MEMBER', () => memberA.token],
  ] as const)('%s issuing for a user of another tenant → NOT_FOUND, nothing written', async (_role, token) => {
    const before = await tenantRowCounts(b.tenantId);
    const input = { name: uniqueName('cross'), userId: memberB.userId };
    expect(await failCode(gw, token(), ISSUE_TOKEN, { input })).toBe('NOT_FOUND');
    expect(await tenantRowCounts(b.tenantId)).toEqual(before);
  });

  test.each(['not-a-uuid', randomUUID(), "' or 1=1 --"])('userId %p → NOT_FOUND', async (userId) => {
    expect(await failCode(gw, a.adminToken, ISSUE_TOKEN, { input: { name: uniqueName('x'), userId } })).toBe(
      'NOT_FOUND',
    );
  });
});

describe('revokeApiToken', () => {
  const revoke = (token: string, id: string) => ok(gw, token, REVOKE_TOKEN, { id });

  test('anyone revokes its own token, which then stops working', async () => {
    const member = await a.member();
    const revoked = (await revoke(member.token, member.tokenId)).revokeApiToken;
    expect(revoked.id).toBe(member.tokenId);
    expect(Number.isNaN(Date.parse(revoked.revokedAt!))).toBe(false);
    expect(await failCode(gw, member.token, ME)).toBe('UNAUTHENTICATED');
  });

  test('an admin revokes a member’s token', async () => {
    const member = await a.member();
    expect((await revoke(a.adminToken, member.tokenId)).revokeApiToken.revokedAt).toEqual(expect.any(String));
    expect(await failCode(gw, member.token, ME)).toBe('UNAUTHENTICATED');
  });

  test.each(['MEMBER', 'AUDITOR'] as const)(
    '%s revoking another user’s token → FORBIDDEN; the token keeps working',
    async (role) => {
      const victim = await a.member();
      expect(await failCode(gw, tokenOf(role), REVOKE_TOKEN, { id: victim.tokenId })).toBe('FORBIDDEN');
      expect(await meId(victim.token)).toBe(victim.userId);
    },
  );

  test('another tenant’s token id → NOT_FOUND; the token keeps working', async () => {
    for (const token of [a.adminToken, memberA.token]) {
      expect(await failCode(gw, token, REVOKE_TOKEN, { id: memberB.tokenId })).toBe('NOT_FOUND');
    }
    expect(await meId(memberB.token)).toBe(memberB.userId);
  });

  test.each(['not-a-uuid', randomUUID()])('id %p → NOT_FOUND', async (id) => {
    expect(await failCode(gw, a.adminToken, REVOKE_TOKEN, { id })).toBe('NOT_FOUND');
  });
});

describe('updateTenantPolicy', () => {
  let t: SeededTenant;
  let member: UserFixture;
  let auditor: UserFixture;
  const policyOf = async (token: string) => (await ok(gw, token, TENANT)).tenant.policy;

  beforeAll(async () => {
    t = await seed(gw).tenant({ prefix: 'policy' });
    member = await t.member();
    auditor = await t.auditor();
  });

  test('a TENANT_ADMIN sets every field, and only its own tenant changes', async () => {
    const input = {
      allowPlatformKey: false,
      allowedModels: ['claude-sonnet-5-5', 'claude-haiku-4-5', 'claude-sonnet-5-5'],
      defaultModel: 'claude-sonnet-5-5',
      monthlyBudgetUsd: 12.5,
      requestsPerMinute: 30,
    };
    const expected = { ...input, allowedModels: ['claude-sonnet-5-5', 'claude-haiku-4-5'] };
    expect((await ok(gw, t.adminToken, UPDATE_POLICY, { input })).updateTenantPolicy).toEqual({
      id: t.tenantId,
      policy: expected,
    });
    expect(await policyOf(member.token)).toEqual(expected);
    expect(await policyOf(a.adminToken)).toMatchObject({
      allowPlatformKey: true,
      allowedModels: null,
      monthlyBudgetUsd: null,
    });
  });

  test('omitted fields are kept; null clears budget, limit and allowedModels', async () => {
    await ok(gw, t.adminToken, UPDATE_POLICY, {
      input: {
        monthlyBudgetUsd: 5,
        requestsPerMinute: 10,
        allowedModels: ['claude-haiku-4-5'],
        defaultModel: 'claude-haiku-4-5',
      },
    });
    await ok(gw, t.adminToken, UPDATE_POLICY, { input: { allowPlatformKey: true } });
    expect(await policyOf(t.adminToken)).toMatchObject({
      monthlyBudgetUsd: 5,
      requestsPerMinute: 10,
      allowedModels: ['claude-haiku-4-5'],
    });

    const input = { monthlyBudgetUsd: null, requestsPerMinute: null, allowedModels: null };
    const policy = (await ok(gw, t.adminToken, UPDATE_POLICY, { input })).updateTenantPolicy.policy;
    expect(policy).toEqual({
      allowPlatformKey: true,
      allowedModels: null,
      defaultModel: 'claude-haiku-4-5',
      monthlyBudgetUsd: null,
      requestsPerMinute: null,
    });
    expect(await policyOf(t.adminToken)).toEqual(policy);
  });

  test.each([
    ['MEMBER', { monthlyBudgetUsd: 1 }, 'FORBIDDEN'],
    ['AUDITOR', { requestsPerMinute: 1 }, 'FORBIDDEN'],
    ['TENANT_ADMIN', { allowedModels: ['claude-haiku-4-5', 'gpt-99'] }, 'UNKNOWN_MODEL'],
    ['TENANT_ADMIN', { defaultModel: 'no-such-model' }, 'UNKNOWN_MODEL'],
    ['TENANT_ADMIN', { allowedModels: ['claude-haiku-4-5'], defaultModel: 'claude-opus-5-5' }, 'MODEL_NOT_ALLOWED'],
    ['TENANT_ADMIN', { allowedModels: ['claude-opus-5-5'] }, 'MODEL_NOT_ALLOWED'],
    ['TENANT_ADMIN', { monthlyBudgetUsd: -0.01 }, 'BAD_USER_INPUT'],
    ['TENANT_ADMIN', { requestsPerMinute: 0 }, 'BAD_USER_INPUT'],
    ['TENANT_ADMIN', { requestsPerMinute: -5 }, 'BAD_USER_INPUT'],
    ['TENANT_ADMIN', { allowedModels: [] }, 'BAD_USER_INPUT'],
  ] as const)('%s with %j → %s, policy unchanged', async (role, input, code) => {
    const token = { TENANT_ADMIN: t.adminToken, MEMBER: member.token, AUDITOR: auditor.token }[role];
    const before = await policyOf(t.adminToken);
    expect(await failCode(gw, token, UPDATE_POLICY, { input })).toBe(code);
    expect(await policyOf(t.adminToken)).toEqual(before);
  });
});

describe('setPreferredModel', () => {
  let t: SeededTenant;
  let member: UserFixture;
  const preferred = async (token: string) => (await ok(gw, token, ME)).me.preferredModel;

  beforeAll(async () => {
    t = await seed(gw).tenant({ prefix: 'preferred' });
    member = await t.member();
  });

  test('sets a catalog model, and null clears it', async () => {
    const set = (await ok(gw, member.token, SET_PREFERRED_MODEL, { model: 'claude-sonnet-5-5' })).setPreferredModel;
    expect(set).toEqual({ id: member.userId, preferredModel: 'claude-sonnet-5-5' });
    expect(await preferred(member.token)).toBe('claude-sonnet-5-5');
    expect(await preferred(t.adminToken)).toBeNull();

    expect(
      (await ok(gw, member.token, SET_PREFERRED_MODEL, { model: null })).setPreferredModel.preferredModel,
    ).toBeNull();
    expect(await preferred(member.token)).toBeNull();
  });

  test('an unknown model → UNKNOWN_MODEL; a model the tenant does not allow → MODEL_NOT_ALLOWED', async () => {
    await ok(gw, member.token, SET_PREFERRED_MODEL, { model: 'claude-haiku-4-5' });
    expect(await failCode(gw, member.token, SET_PREFERRED_MODEL, { model: 'claude-haiku-9' })).toBe('UNKNOWN_MODEL');
    await ok(gw, t.adminToken, UPDATE_POLICY, {
      input: { allowedModels: ['claude-haiku-4-5'], defaultModel: 'claude-haiku-4-5' },
    });
    expect(await failCode(gw, member.token, SET_PREFERRED_MODEL, { model: 'claude-opus-5-5' })).toBe(
      'MODEL_NOT_ALLOWED',
    );
    expect(await preferred(member.token)).toBe('claude-haiku-4-5');
  });
});

describe('deleteTenant', () => {
  test.each(['TENANT_ADMIN', 'MEMBER', 'AUDITOR'] as const)(
    '%s deleting another tenant → FORBIDDEN; it survives',
    async (role) => {
      expect(await failCode(gw, tokenOf(role), DELETE_TENANT, { id: b.tenantId })).toBe('FORBIDDEN');
      expect(await meId(b.adminToken)).toBe(b.adminId);
    },
  );

  test('a TENANT_ADMIN deleting its own tenant → FORBIDDEN', async () => {
    expect(await failCode(gw, a.adminToken, DELETE_TENANT, { id: a.tenantId })).toBe('FORBIDDEN');
    expect(await meId(a.adminToken)).toBe(a.adminId);
  });

  test('deleting the platform tenant → FORBIDDEN', async () => {
    expect(await failCode(gw, gw.platformToken, DELETE_TENANT, { id: platformTenantId })).toBe('FORBIDDEN');
    expect((await ok(gw, gw.platformToken, ME)).me.role).toBe('PLATFORM_ADMIN');
  });

  test.each([randomUUID(), 'not-a-uuid'])('unknown id %p → NOT_FOUND', async (id) => {
    expect(await failCode(gw, gw.platformToken, DELETE_TENANT, { id })).toBe('NOT_FOUND');
  });

  test('PLATFORM_ADMIN deletes a tenant: its users and tokens are gone', async () => {
    const doomed = await seed(gw).tenant({ prefix: 'doomed' });
    const member = await doomed.member();
    expect((await ok(gw, gw.platformToken, DELETE_TENANT, { id: doomed.tenantId })).deleteTenant).toBe(true);
    expect(await failCode(gw, doomed.adminToken, ME)).toBe('UNAUTHENTICATED');
    expect(await failCode(gw, member.token, ME)).toBe('UNAUTHENTICATED');
    expect(await tenantRowCounts(doomed.tenantId)).toEqual({ users: 0, tokens: 0 });
    expect(await failCode(gw, gw.platformToken, DELETE_TENANT, { id: doomed.tenantId })).toBe('NOT_FOUND');
  });
});

describe('tenant isolation', () => {
  test('tenant B’s admin sees none of A’s users, and A none of B’s', async () => {
    const idsOf = async (token: string) => (await ok(gw, token, USERS)).users.map((u: { id: string }) => u.id);
    const aIds = await idsOf(a.adminToken);
    const bIds = await idsOf(b.adminToken);
    expect(aIds.filter((id: string) => bIds.includes(id))).toEqual([]);
    expect(bIds).toEqual(expect.arrayContaining([b.adminId, memberB.userId]));
  });

  test.each<[string, RoleName]>([
    ['admin', 'TENANT_ADMIN'],
    ['member', 'MEMBER'],
  ])('B’s %s cannot touch A’s tokens or users (NOT_FOUND)', async (_label, role) => {
    const token = role === 'TENANT_ADMIN' ? b.adminToken : memberB.token;
    expect(await failCode(gw, token, REVOKE_TOKEN, { id: memberA.tokenId })).toBe('NOT_FOUND');
    expect(await failCode(gw, token, ISSUE_TOKEN, { input: { name: uniqueName('x'), userId: a.adminId } })).toBe(
      'NOT_FOUND',
    );
    expect(await meId(memberA.token)).toBe(memberA.userId);
  });
});
