import { hashBearerToken } from '../../src/auth/bearer-token';
import {
  API_TOKENS,
  CREATE_USER,
  DELETE_CREDENTIAL,
  ISSUE_TOKEN,
  ME,
  REVOKE_TOKEN,
  SET_CREDENTIAL,
} from '../support/documents';
import { anthropicKey, createMember, uniqueEmail, uniqueName, type UserFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { failCode, ok } from '../support/graphql-client';
import { sql } from '../support/sql';

/**
 * Issue 11, item 2: a TENANT_ADMIN of the platform tenant must not reach the PLATFORM_ADMIN
 * through tokens (issue one for it, revoke its bootstrap token, list its tokens) nor through its
 * account or keys. Nobody acts on a role above its own.
 */

let gw: TestGateway;
let platformAdminId: string;
let platformTenantId: string;
let bootstrapTokenId: string;
/** A TENANT_ADMIN of the platform tenant, created by the platform admin. */
let platformTenantAdmin: UserFixture;

const tokenRowsOf = async (userId: string): Promise<number> =>
  Number((await sql<{ n: string }>('select count(*) as n from api_tokens where user_id = $1', [userId]))[0].n);

beforeAll(async () => {
  gw = await startTestGateway();
  const me = (await ok(gw, gw.platformToken, ME)).me;
  platformAdminId = me.id;
  platformTenantId = me.tenant.id;
  bootstrapTokenId = (
    await sql<{ id: string }>('select id from api_tokens where token_hash = $1', [hashBearerToken(gw.platformToken)])
  )[0].id;
  platformTenantAdmin = await createMember(gw, gw.platformToken, 'TENANT_ADMIN');
}, 60_000);
afterAll(() => gw?.stop());

test('the fixture: a TENANT_ADMIN of the platform tenant, beside the PLATFORM_ADMIN', async () => {
  expect((await ok(gw, platformTenantAdmin.token, ME)).me).toMatchObject({
    role: 'TENANT_ADMIN',
    tenant: { id: platformTenantId },
  });
  expect((await ok(gw, gw.platformToken, ME)).me.role).toBe('PLATFORM_ADMIN');
});

test('issuing a token for the PLATFORM_ADMIN → FORBIDDEN, no token row written, a DENIED token.issue event', async () => {
  const before = await tokenRowsOf(platformAdminId);
  const input = { name: uniqueName('escalate'), userId: platformAdminId };
  expect(await failCode(gw, platformTenantAdmin.token, ISSUE_TOKEN, { input })).toBe('FORBIDDEN');
  expect(await tokenRowsOf(platformAdminId)).toBe(before);
  const denied = await sql(
    `select outcome, detail from audit_events where chain = $1 and action = 'token.issue' and actor_id = $2`,
    [platformTenantId, platformTenantAdmin.userId],
  );
  expect(denied).toEqual([
    { outcome: 'DENIED', detail: JSON.stringify({ userId: platformAdminId, code: 'FORBIDDEN' }) },
  ]);
});

test('revoking the bootstrap token → FORBIDDEN; it keeps working, and a restart with it still starts', async () => {
  expect(await failCode(gw, platformTenantAdmin.token, REVOKE_TOKEN, { id: bootstrapTokenId })).toBe('FORBIDDEN');
  expect((await sql('select revoked_at from api_tokens where id = $1', [bootstrapTokenId]))[0].revoked_at).toBeNull();
  expect((await ok(gw, gw.platformToken, ME)).me.id).toBe(platformAdminId);

  const again = await startTestGateway({ env: { KEYWARD_BOOTSTRAP_TOKEN: gw.platformToken } });
  try {
    expect((await ok(again, gw.platformToken, ME)).me.role).toBe('PLATFORM_ADMIN');
  } finally {
    await again.stop();
  }
}, 60_000);

test("listing the PLATFORM_ADMIN's tokens → FORBIDDEN; the tenant-wide list leaves them out", async () => {
  expect(await failCode(gw, platformTenantAdmin.token, API_TOKENS, { userId: platformAdminId })).toBe('FORBIDDEN');
  const listed: Array<{ id: string; user: { id: string } }> = (await ok(gw, platformTenantAdmin.token, API_TOKENS))
    .apiTokens;
  expect(listed.map((token) => token.id)).toContain(platformTenantAdmin.tokenId);
  expect(listed.map((token) => token.id)).not.toContain(bootstrapTokenId);
  expect(listed.filter((token) => token.user.id === platformAdminId)).toEqual([]);
});

test('creating a PLATFORM_ADMIN in the platform tenant → FORBIDDEN, nothing written', async () => {
  const email = uniqueEmail('climb');
  expect(await failCode(gw, platformTenantAdmin.token, CREATE_USER, { input: { email, role: 'PLATFORM_ADMIN' } })).toBe(
    'FORBIDDEN',
  );
  expect(await sql('select id from users where email = $1', [email])).toEqual([]);
});

test("deleting a PLATFORM_ADMIN's personal key → FORBIDDEN; it stays", async () => {
  // Another platform admin, so the shared bootstrap admin's key choice stays as other files expect.
  const operator = await createMember(gw, gw.platformToken, 'PLATFORM_ADMIN');
  const input = { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: anthropicKey(), validate: false };
  const id = (await ok(gw, operator.token, SET_CREDENTIAL, { input })).setCredential.id;
  expect(await failCode(gw, platformTenantAdmin.token, DELETE_CREDENTIAL, { id })).toBe('FORBIDDEN');
  expect(await sql('select id from credentials where id = $1', [id])).toEqual([{ id }]);
});

test('a TENANT_ADMIN still manages its peers and everyone below it in the platform tenant', async () => {
  const peer = await createMember(gw, gw.platformToken, 'TENANT_ADMIN');
  const member = await createMember(gw, gw.platformToken, 'MEMBER');
  for (const user of [peer, member]) {
    const issued = (
      await ok(gw, platformTenantAdmin.token, ISSUE_TOKEN, { input: { name: uniqueName('ok'), userId: user.userId } })
    ).issueApiToken;
    expect((await ok(gw, issued.token, ME)).me.id).toBe(user.userId);
    expect(
      (await ok(gw, platformTenantAdmin.token, REVOKE_TOKEN, { id: issued.apiToken.id })).revokeApiToken.revokedAt,
    ).toEqual(expect.any(String));
    expect(await failCode(gw, issued.token, ME)).toBe('UNAUTHENTICATED');
  }
});

test('the PLATFORM_ADMIN still issues, lists and revokes tokens of anyone in its tenant, itself included', async () => {
  const issued = (
    await ok(gw, gw.platformToken, ISSUE_TOKEN, { input: { name: uniqueName('own'), userId: platformAdminId } })
  ).issueApiToken;
  const listed = (await ok(gw, gw.platformToken, API_TOKENS, { userId: platformAdminId })).apiTokens.map(
    (token: { id: string }) => token.id,
  );
  expect(listed).toEqual(expect.arrayContaining([issued.apiToken.id, bootstrapTokenId]));
  await ok(gw, gw.platformToken, REVOKE_TOKEN, { id: issued.apiToken.id });
  expect(await failCode(gw, issued.token, ME)).toBe('UNAUTHENTICATED');
  await ok(gw, gw.platformToken, REVOKE_TOKEN, { id: platformTenantAdmin.tokenId });
  expect(await failCode(gw, platformTenantAdmin.token, ME)).toBe('UNAUTHENTICATED');
});
