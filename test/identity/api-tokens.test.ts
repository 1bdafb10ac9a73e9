import { hashBearerToken } from '../../src/auth/bearer-token';
import { allAuditEvents, parseDetail } from '../support/audit-helpers';
import { API_TOKENS, ISSUE_TOKEN, ME, REVOKE_TOKEN, type ApiTokenView } from '../support/documents';
import { seed, SeededTenant, uniqueName, type UserFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { failCode, ok, post } from '../support/graphql-client';
import { sql } from '../support/sql';

/**
 * Issue 11, item 6: every token can be found (`apiTokens`) and so revoked, including a tenant's
 * first admin token and the bootstrap token, and every issued token has a token.issue event.
 */

let gw: TestGateway;
let platformAdminId: string;
let platformTenantId: string;
let a: SeededTenant;
let b: SeededTenant;
let memberA: UserFixture;
let auditorA: UserFixture;

const tokens = async (caller: string, args: { userId?: string; tenantId?: string } = {}): Promise<ApiTokenView[]> =>
  (await ok(gw, caller, API_TOKENS, args)).apiTokens;
const idOfToken = async (bearer: string): Promise<string> =>
  (await sql<{ id: string }>('select id from api_tokens where token_hash = $1', [hashBearerToken(bearer)]))[0].id;

beforeAll(async () => {
  gw = await startTestGateway();
  const me = (await ok(gw, gw.platformToken, ME)).me;
  platformAdminId = me.id;
  platformTenantId = me.tenant.id;
  a = await seed(gw).tenant({ prefix: 'tokens-a' });
  b = await seed(gw).tenant({ prefix: 'tokens-b' });
  memberA = await a.member();
  auditorA = await a.auditor();
}, 60_000);
afterAll(() => gw?.stop());

describe("createTenant's first admin token", () => {
  test('is listed for its admin and for the platform admin, and has a token.issue event in the platform chain', async () => {
    const initialId = await idOfToken(a.adminToken);
    const own = await tokens(a.adminToken, { userId: a.adminId });
    expect(own.find((token) => token.id === initialId)).toMatchObject({
      name: 'initial admin token',
      revokedAt: null,
      expiresAt: null,
      lastUsedAt: expect.any(String),
      user: { id: a.adminId, role: 'TENANT_ADMIN' },
    });
    expect((await tokens(gw.platformToken, { tenantId: a.tenantId })).map((token) => token.id)).toContain(initialId);

    const events = await allAuditEvents(gw, gw.platformToken, { action: 'token.issue', targetId: initialId });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      tenantId: platformTenantId,
      actorId: platformAdminId,
      targetType: 'api_token',
      outcome: 'SUCCESS',
    });
    expect(parseDetail(events[0])).toEqual({ userId: a.adminId, tenantId: a.tenantId, reason: 'tenant.create' });
    // The same request's tenant.create event.
    const created = await allAuditEvents(gw, gw.platformToken, { action: 'tenant.create', targetId: a.tenantId });
    expect(created.map((event) => event.requestId)).toEqual([events[0].requestId]);
  });

  test('its admin revokes it, after which it stops working', async () => {
    const t = await seed(gw).tenant({ prefix: 'tokens-own-revoke' });
    const spare = (await ok(gw, t.adminToken, ISSUE_TOKEN, { input: { name: uniqueName('spare') } })).issueApiToken
      .token;
    const initialId = await idOfToken(t.adminToken);
    expect((await ok(gw, t.adminToken, REVOKE_TOKEN, { id: initialId })).revokeApiToken.revokedAt).toEqual(
      expect.any(String),
    );
    expect(await failCode(gw, t.adminToken, ME)).toBe('UNAUTHENTICATED');
    expect((await tokens(spare)).find((token) => token.id === initialId)?.revokedAt).toEqual(expect.any(String));
  });

  test('the platform admin revokes it from outside the tenant', async () => {
    const t = await seed(gw).tenant({ prefix: 'tokens-operator-revoke' });
    const initialId = await idOfToken(t.adminToken);
    await ok(gw, gw.platformToken, REVOKE_TOKEN, { id: initialId });
    expect(await failCode(gw, t.adminToken, ME)).toBe('UNAUTHENTICATED');
  });
});

describe('the bootstrap token', () => {
  test('is listed for the platform admin, has a token.issue event, and the platform admin can revoke it', async () => {
    // A second start on the same database with a new KEYWARD_BOOTSTRAP_TOKEN adds one more bootstrap token.
    const second = await startTestGateway();
    let secondId: string;
    try {
      secondId = await idOfToken(second.platformToken);
      const listed = await tokens(gw.platformToken, { userId: platformAdminId });
      expect(listed.find((token) => token.id === secondId)).toMatchObject({
        name: 'bootstrap token',
        revokedAt: null,
        user: { id: platformAdminId },
      });
      expect(listed.map((token) => token.id)).toContain(await idOfToken(gw.platformToken));

      const events = await allAuditEvents(gw, gw.platformToken, { action: 'token.issue', targetId: secondId });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ tenantId: platformTenantId, actorId: null, outcome: 'SUCCESS' });
      expect(parseDetail(events[0])).toEqual({
        userId: platformAdminId,
        tenantId: platformTenantId,
        reason: 'bootstrap',
      });

      await ok(gw, gw.platformToken, REVOKE_TOKEN, { id: secondId });
      expect(await failCode(second, second.platformToken, ME)).toBe('UNAUTHENTICATED');
    } finally {
      await second.stop();
    }
  }, 60_000);
});

describe('who sees which tokens', () => {
  test('a MEMBER and an AUDITOR see only their own', async () => {
    for (const user of [memberA, auditorA]) {
      const listed = await tokens(user.token);
      expect(listed.map((token) => token.user.id)).toEqual(listed.map(() => user.userId));
      expect(listed.map((token) => token.id)).toContain(user.tokenId);
      expect(await failCode(gw, user.token, API_TOKENS, { userId: a.adminId })).toBe('FORBIDDEN');
    }
  });

  test("a TENANT_ADMIN sees every token of its tenant, newest first, and one user's with userId", async () => {
    const listed = await tokens(a.adminToken);
    const ids = listed.map((token) => token.id);
    expect(ids).toEqual(expect.arrayContaining([memberA.tokenId, auditorA.tokenId, await idOfToken(a.adminToken)]));
    expect(listed.map((token) => token.createdAt)).toEqual(
      [...listed.map((token) => token.createdAt)].sort().reverse(),
    );
    expect((await tokens(a.adminToken, { userId: memberA.userId })).map((token) => token.id)).toEqual([
      memberA.tokenId,
    ]);
    const stored = await sql<{ n: string }>(
      'select count(*) as n from api_tokens t join users u on u.id = t.user_id where u.tenant_id = $1',
      [a.tenantId],
    );
    expect(listed).toHaveLength(Number(stored[0].n));
  });

  test("another tenant: its user's tokens are NOT_FOUND, its tenantId FORBIDDEN (but for the platform admin)", async () => {
    expect(await failCode(gw, a.adminToken, API_TOKENS, { userId: b.adminId })).toBe('NOT_FOUND');
    expect(await failCode(gw, a.adminToken, API_TOKENS, { tenantId: b.tenantId })).toBe('FORBIDDEN');
    expect(await failCode(gw, memberA.token, API_TOKENS, { tenantId: b.tenantId })).toBe('FORBIDDEN');
    const theirs = await tokens(gw.platformToken, { tenantId: b.tenantId });
    expect(theirs.map((token) => token.user.id)).toEqual([b.adminId]);
    expect((await tokens(gw.platformToken, { userId: b.adminId })).map((token) => token.id)).toEqual(
      theirs.map((token) => token.id),
    );
  });

  test('the response never carries a token hash or a bearer token', async () => {
    const res = await post(gw, a.adminToken, API_TOKENS, {});
    const hashes = await sql<{ token_hash: string }>(
      'select token_hash from api_tokens t join users u on u.id = t.user_id where u.tenant_id = $1',
      [a.tenantId],
    );
    expect(hashes.length).toBeGreaterThan(2);
    for (const { token_hash } of hashes) expect(res.raw).not.toContain(token_hash);
    for (const bearer of [a.adminToken, memberA.token, auditorA.token]) expect(res.raw).not.toContain(bearer);
  });
});
