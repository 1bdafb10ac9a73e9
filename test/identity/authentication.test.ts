import { generateBearerToken } from '../../src/auth/bearer-token';
import { REVOKE_TOKEN } from '../support/documents';
import {
  createMember,
  createTenantWithAdmin,
  issueToken,
  uniqueEmail,
  uniqueName,
  type TenantFixture,
} from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { errorCode, gql, ok } from '../support/graphql-client';
import { sql, tokenRow } from '../support/sql';
import { bearer, wsClient, wsRequest } from '../support/ws-client';

const ME = '{ me { id role } }';

let gw: TestGateway;
let tenant: TenantFixture;

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await createTenantWithAdmin(gw, 'auth');
});
afterAll(() => gw?.stop());

/** `me` over HTTP with a raw Authorization header value (undefined: no header). */
const meOverHttp = (authorization?: string) =>
  gql<{ me: { id: string; role: string } }>(
    gw.url,
    ME,
    undefined,
    undefined,
    authorization === undefined ? {} : { authorization },
  );

interface MeResult {
  data?: { me: { id: string; role: string } } | null;
  errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
  /** The code the server closed the socket with instead of answering. */
  closeCode?: number;
}

/**
 * `me` over a fresh graphql-ws connection with that value in connection_init's payload; a socket
 * the server closes instead of answering gives its close code.
 */
async function meOverWs(authorization?: string): Promise<MeResult> {
  let closeCode: number | undefined;
  const client = wsClient(gw.wsUrl, authorization, {
    on: { closed: (event) => void (closeCode = (event as { code: number }).code) },
  });
  try {
    return await wsRequest<{ me: { id: string; role: string } }>(client, ME);
  } catch (error) {
    if (closeCode === undefined) throw error;
    return { closeCode };
  } finally {
    await client.dispose();
  }
}

/** How a request was refused: its error code, or the socket's close code. */
const refusal = (res: MeResult): unknown =>
  res.closeCode === undefined ? res.errors?.[0]?.extensions?.code : `closed ${res.closeCode}`;

const revoke = (callerToken: string, id: string) => ok(gw, callerToken, REVOKE_TOKEN, { id });

const BAD_CREDENTIALS: Array<[string, () => string | undefined]> = [
  ['missing token', () => undefined],
  ['empty header', () => ''],
  ['another scheme', () => `Basic ${Buffer.from('user:pass').toString('base64')}`],
  ['Bearer without a token', () => 'Bearer '],
  ['a token without the kw_ prefix', () => 'Bearer sk-ant-not-a-keyward-token-000000000000'],
  ['a kw_ token that is too short', () => 'Bearer kw_short'],
  ['two tokens', () => `Bearer ${generateBearerToken()} ${generateBearerToken()}`],
  ['an unknown well-formed token', () => bearer(generateBearerToken())],
];

/**
 * HTTP answers every refused credential with UNAUTHENTICATED. A WebSocket whose connection_init
 * carries credentials that are refused is closed at once with 4403; one that carries none may run
 * operations (each refused with UNAUTHENTICATED where a token is needed) until its deadline.
 */
describe.each([
  ['HTTP', meOverHttp as (authorization?: string) => Promise<MeResult>, () => 'UNAUTHENTICATED'],
  ['WebSocket', meOverWs, (sent: boolean) => (sent ? 'closed 4403' : 'UNAUTHENTICATED')],
] as const)('over %s', (_transport, me, refused) => {
  test.each(BAD_CREDENTIALS)('%s → refused, without data or the secret echoed', async (_case, authorization) => {
    const header = authorization();
    const res = await me(header);
    expect(refusal(res)).toBe(refused(header !== undefined && header !== ''));
    expect(res.data ?? null).toBeNull();
    const token = header?.match(/kw_\S+/)?.[0];
    if (token) expect(JSON.stringify(res)).not.toContain(token);
  });

  test('a valid token answers me with its user', async () => {
    const member = await createMember(gw, tenant.adminToken, 'MEMBER');
    const res = await me(bearer(member.token));
    expect(res.errors).toBeUndefined();
    expect(res.data?.me).toEqual({ id: member.userId, role: 'MEMBER' });
  });

  test('the scheme is case-insensitive and surrounding spaces are tolerated', async () => {
    const member = await createMember(gw, tenant.adminToken, 'AUDITOR');
    const res = await me(`bearer   ${member.token} `);
    expect(res.data?.me).toEqual({ id: member.userId, role: 'AUDITOR' });
  });

  test('a revoked token → refused', async () => {
    const member = await createMember(gw, tenant.adminToken, 'MEMBER');
    expect((await me(bearer(member.token))).data?.me.id).toBe(member.userId);
    await revoke(member.token, member.tokenId);
    const res = await me(bearer(member.token));
    expect(refusal(res)).toBe(refused(true));
    expect(res.data ?? null).toBeNull();
  });

  test('an expired token works until expiresAt, then → refused', async () => {
    const member = await createMember(gw, tenant.adminToken, 'MEMBER');
    const expiresAt = new Date(Date.now() + 2_000);
    const short = await issueToken(gw, member.token, {
      name: uniqueName('short-lived'),
      expiresAt: expiresAt.toISOString(),
    });
    expect((await me(bearer(short.token))).data?.me.id).toBe(member.userId);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt.getTime() - Date.now()) + 250));
    const res = await me(bearer(short.token));
    expect(refusal(res)).toBe(refused(true));
    // The user's other token is unaffected.
    expect((await me(bearer(member.token))).data?.me.id).toBe(member.userId);
  });
});

test('a token revoked while a WebSocket stays open fails on that connection’s next operation', async () => {
  const member = await createMember(gw, tenant.adminToken, 'MEMBER');
  let connections = 0;
  const client = wsClient(gw.wsUrl, bearer(member.token), { lazy: false, on: { connected: () => void connections++ } });
  try {
    expect((await wsRequest(client, ME)).data?.me.id).toBe(member.userId);
    expect((await wsRequest(client, ME)).data?.me.id).toBe(member.userId);

    await revoke(tenant.adminToken, member.tokenId);

    const after = await wsRequest(client, ME);
    expect(errorCode(after)).toBe('UNAUTHENTICATED');
    expect(after.data ?? null).toBeNull();
    expect(connections).toBe(1);
  } finally {
    await client.dispose();
  }
});

test('a socket without credentials gets UNAUTHENTICATED on every operation and stays open until its deadline', async () => {
  const client = wsClient(gw.wsUrl, undefined, { lazy: false });
  try {
    expect(errorCode(await wsRequest(client, '{ tenant { id } }'))).toBe('UNAUTHENTICATED');
    expect(errorCode(await wsRequest(client, '{ users { id } }'))).toBe('UNAUTHENTICATED');
  } finally {
    await client.dispose();
  }
});

test('a mutation without a token is refused and writes nothing', async () => {
  const email = uniqueEmail('nobody');
  const res = await gql(gw.url, 'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }', {
    input: { email, role: 'MEMBER' },
  });
  expect(errorCode(res)).toBe('UNAUTHENTICATED');
  expect(await sql('select id from users where email = $1', [email])).toHaveLength(0);
});

describe('lastUsedAt', () => {
  test('is null for a new token and set when the token is used, on either transport', async () => {
    const member = await createMember(gw, tenant.adminToken, 'MEMBER');
    const viaWs = await issueToken(gw, tenant.adminToken, { name: uniqueName('ws'), userId: member.userId });
    expect((await tokenRow(member.tokenId))?.last_used_at).toBeNull();
    expect((await tokenRow(viaWs.id))?.last_used_at).toBeNull();

    const before = Date.now();
    expect((await meOverHttp(bearer(member.token))).data?.me.id).toBe(member.userId);
    expect((await meOverWs(bearer(viaWs.token))).data?.me.id).toBe(member.userId);
    const after = Date.now();

    for (const id of [member.tokenId, viaWs.id]) {
      const usedAt = (await tokenRow(id))?.last_used_at;
      expect(usedAt).toBeInstanceOf(Date);
      expect(usedAt!.getTime()).toBeGreaterThanOrEqual(before - 1_000);
      expect(usedAt!.getTime()).toBeLessThanOrEqual(after + 1_000);
    }
  });

  test('is returned through the API (revokeApiToken shows it)', async () => {
    const member = await createMember(gw, tenant.adminToken, 'MEMBER');
    await ok(gw, member.token, ME);
    const revoked = (await revoke(tenant.adminToken, member.tokenId)).revokeApiToken;
    expect(revoked.id).toBe(member.tokenId);
    expect(Number.isNaN(Date.parse(revoked.lastUsedAt!))).toBe(false);
    expect(Date.parse(revoked.revokedAt!)).toBeGreaterThanOrEqual(Date.parse(revoked.lastUsedAt!));
  });

  test('a burst of requests when it is due writes it once, not once per request', async () => {
    const member = await createMember(gw, tenant.adminToken, 'MEMBER');
    const suffix = member.tokenId.replaceAll('-', '');
    const [table, trigger] = [`touches_${suffix}`, `count_touches_${suffix}`];
    // Counts this token's lastUsedAt writes (the WHEN clause leaves every other row alone).
    await sql(`create table ${table} (at timestamptz not null default clock_timestamp())`);
    await sql(`create function ${trigger}() returns trigger language plpgsql as
      $$ begin insert into ${table} default values; return null; end $$`);
    await sql(`create trigger ${trigger} after update of last_used_at on api_tokens for each row
      when (new.id = '${member.tokenId}') execute function ${trigger}()`);
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, () => meOverHttp(bearer(member.token))));
      expect(answers.map((answer) => answer.data?.me.id)).toEqual(Array(20).fill(member.userId));
      expect(await sql(`select at from ${table}`)).toHaveLength(1);
      expect((await tokenRow(member.tokenId))?.last_used_at).toBeInstanceOf(Date);
    } finally {
      await sql(`drop trigger ${trigger} on api_tokens`);
      await sql(`drop function ${trigger}()`);
      await sql(`drop table ${table}`);
    }
  });

  test('a rejected token (revoked) does not get its lastUsedAt moved', async () => {
    const member = await createMember(gw, tenant.adminToken, 'MEMBER');
    await revoke(tenant.adminToken, member.tokenId);
    expect(errorCode(await meOverHttp(bearer(member.token)))).toBe('UNAUTHENTICATED');
    expect((await tokenRow(member.tokenId))?.last_used_at).toBeNull();
  });
});
