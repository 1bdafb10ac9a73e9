import { ISSUE_TOKEN, ME } from '../support/documents';
import {
  createMember,
  createTenantWithAdmin,
  uniqueEmail,
  uniqueName,
  uniqueSuffix,
  type TenantFixture,
  type UserFixture,
} from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { gql, ok, type GraphQLResponse } from '../support/graphql-client';
import { rowsForTenantAttempt, tenantRowCounts } from '../support/sql';
import { bearer, wsClient, wsRequest } from '../support/ws-client';

const CREATE_TENANT = 'mutation ($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } token } }';
const CREATE_USER = 'mutation ($input: CreateUserInput!) { createUser(input: $input) { id email } }';

let gw: TestGateway;
let t: TenantFixture;
let member: UserFixture;

beforeAll(async () => {
  gw = await startTestGateway();
  t = await createTenantWithAdmin(gw, 'bad-input');
  member = await createMember(gw, t.adminToken, 'MEMBER');
});
afterAll(() => gw?.stop());

/**
 * Bad values, each carrying a unique marker so an echo anywhere in the response is caught.
 * Values without a marker (empty, blank) cannot be echoed in a detectable way.
 */
function badNames(): Array<[string, string, string | null]> {
  const m = `Echo${uniqueSuffix()}`;
  return [
    ['empty', '', null],
    ['whitespace only', '    ', null],
    ['10,000 characters', m + 'n'.repeat(10_000 - m.length), m],
    ['a NUL byte', `${m}\u0000name`, m],
    ['a bell character', `${m}\u0007`, m],
    ['a line break', `${m}\nsecond line`, m],
    ['a right-to-left override', `${m}\u202Eevil`, m],
  ];
}

function badEmails(): Array<[string, string, string | null]> {
  const m = `echo${uniqueSuffix()}`;
  return [
    ['empty', '', null],
    ['invalid', `${m}-at-example.test`, m],
    ['two @', `${m}@@example.test`, m],
    ['10,000 characters', `${m}${'e'.repeat(10_000 - m.length - 13)}@example.test`, m],
    ['control characters', `${m}\u0007@example.test`, m],
  ];
}

/** BAD_USER_INPUT whose message names `field` and contains neither the value nor its marker. */
function expectRejected(res: GraphQLResponse<unknown>, field: string, value: string, marker: string | null): void {
  const error = res.errors?.[0];
  expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(error?.message).toMatch(new RegExp(`\\b${field}\\b`));
  expect(res.data ?? null).toBeNull();
  if (value.trim()) expect(error?.message).not.toContain(value);
  if (marker) expect(res.raw).not.toContain(marker);
  expect(res.raw).not.toMatch(/<html|\bat .+\.(?:js|ts):\d+/i);
}

describe('createTenant', () => {
  test.each(badNames())('name %s → BAD_USER_INPUT, nothing written', async (_case, name, marker) => {
    const adminEmail = uniqueEmail('admin');
    const res = await gql(gw.url, CREATE_TENANT, { input: { name, adminEmail } }, gw.platformToken);
    expectRejected(res, 'name', name, marker);
    expect(await rowsForTenantAttempt(name, adminEmail)).toEqual({ tenants: 0, users: 0 });
  });

  test.each(badEmails())('adminEmail %s → BAD_USER_INPUT, nothing written', async (_case, adminEmail, marker) => {
    const name = uniqueName('tenant');
    const res = await gql(gw.url, CREATE_TENANT, { input: { name, adminEmail } }, gw.platformToken);
    expectRejected(res, 'adminEmail', adminEmail, marker);
    expect(await rowsForTenantAttempt(name, adminEmail)).toEqual({ tenants: 0, users: 0 });
  });

  test.each(badNames().filter(([, name]) => name !== ''))(
    'adminName %s → BAD_USER_INPUT, nothing written',
    async (_case, adminName, marker) => {
      const input = { name: uniqueName('tenant'), adminEmail: uniqueEmail('admin'), adminName };
      const res = await gql(gw.url, CREATE_TENANT, { input }, gw.platformToken);
      expectRejected(res, 'adminName', adminName, marker);
      expect(await rowsForTenantAttempt(input.name, input.adminEmail)).toEqual({ tenants: 0, users: 0 });
    },
  );

  test('a duplicate name, in any case and with spaces around it → BAD_USER_INPUT, nothing written', async () => {
    const name = uniqueName('Acme');
    await ok(gw, gw.platformToken, CREATE_TENANT, { input: { name, adminEmail: uniqueEmail('first') } });
    for (const again of [name, name.toUpperCase(), name.toLowerCase(), `  ${name}  `]) {
      const adminEmail = uniqueEmail('second');
      const res = await gql(gw.url, CREATE_TENANT, { input: { name: again, adminEmail } }, gw.platformToken);
      expectRejected(res, 'name', again, null);
      expect(await rowsForTenantAttempt(again, adminEmail)).toEqual({ tenants: 1, users: 0 });
    }
  });

  test('a variable of the wrong type → BAD_USER_INPUT naming the field, without the value, nothing written', async () => {
    const marker = `Echo${uniqueSuffix()}`;
    const name = uniqueName('typed');
    const adminEmail = uniqueEmail('typed');
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ name: 12345, adminEmail }, 'name'],
      [{ name: { secret: marker }, adminEmail }, 'name'],
      [{ name, adminEmail: [marker] }, 'adminEmail'],
      [{ name }, 'adminEmail'],
      [{ name, adminEmail, adminName: true }, 'adminName'],
      [{ name, adminEmail, unexpected: marker }, 'unexpected'],
    ];
    for (const [input, field] of cases) {
      const res = await gql(gw.url, CREATE_TENANT, { input }, gw.platformToken);
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(new RegExp(`\\b${field}\\b`));
      expect(res.raw).not.toContain(marker);
      expect(res.raw).not.toContain('12345');
    }
    expect(await rowsForTenantAttempt(name, adminEmail)).toEqual({ tenants: 0, users: 0 });
  });
});

test('over WebSocket too, a variable of the wrong type is BAD_USER_INPUT without the value', async () => {
  const marker = `Echo${uniqueSuffix()}`;
  const client = wsClient(gw.wsUrl, bearer(gw.platformToken));
  try {
    const res = await wsRequest(client, CREATE_TENANT, {
      input: { name: { secret: marker }, adminEmail: uniqueEmail() },
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toContain('input.name');
    expect(JSON.stringify(res)).not.toContain(marker);
  } finally {
    await client.dispose();
  }
});

describe('createUser', () => {
  const attempt = (input: Record<string, unknown>) => gql(gw.url, CREATE_USER, { input }, t.adminToken);

  test.each(badEmails())('email %s → BAD_USER_INPUT, users unchanged', async (_case, email, marker) => {
    const before = await tenantRowCounts(t.tenantId);
    expectRejected(await attempt({ email, role: 'MEMBER' }), 'email', email, marker);
    expect(await tenantRowCounts(t.tenantId)).toEqual(before);
  });

  test.each(badNames().filter(([, name]) => name !== ''))(
    'name %s → BAD_USER_INPUT, users unchanged',
    async (_case, name, marker) => {
      const before = await tenantRowCounts(t.tenantId);
      expectRejected(await attempt({ email: uniqueEmail(), name, role: 'MEMBER' }), 'name', name, marker);
      expect(await tenantRowCounts(t.tenantId)).toEqual(before);
    },
  );

  test('an unknown role → BAD_USER_INPUT, users unchanged', async () => {
    const before = await tenantRowCounts(t.tenantId);
    const res = await attempt({ email: uniqueEmail(), role: 'SUPERUSER' });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.raw).not.toContain('SUPERUSER');
    expect(await tenantRowCounts(t.tenantId)).toEqual(before);
  });

  test('a duplicate email (any case) → BAD_USER_INPUT; the same email in another tenant is fine', async () => {
    const email = uniqueEmail('dup');
    await ok(gw, t.adminToken, CREATE_USER, { input: { email, role: 'MEMBER' } });
    const before = await tenantRowCounts(t.tenantId);
    for (const again of [email, email.toUpperCase(), ` ${email} `]) {
      expectRejected(await attempt({ email: again, role: 'AUDITOR' }), 'email', again, null);
    }
    expect(await tenantRowCounts(t.tenantId)).toEqual(before);
    // The failed flush left the request's state clean: the same admin carries on.
    expect(
      (await ok(gw, t.adminToken, CREATE_USER, { input: { email: uniqueEmail(), role: 'MEMBER' } })).createUser.id,
    ).toEqual(expect.any(String));
    const other = await createTenantWithAdmin(gw, 'dup-elsewhere');
    expect((await ok(gw, other.adminToken, CREATE_USER, { input: { email, role: 'MEMBER' } })).createUser.email).toBe(
      email,
    );
  });
});

describe('issueApiToken', () => {
  test.each(badNames())('name %s → BAD_USER_INPUT, no token written', async (_case, name, marker) => {
    const before = await tenantRowCounts(t.tenantId);
    const res = await gql(gw.url, ISSUE_TOKEN, { input: { name } }, member.token);
    expectRejected(res, 'name', name, marker);
    expect(await tenantRowCounts(t.tenantId)).toEqual(before);
  });

  test.each([
    ['in the past', () => new Date(Date.now() - 60_000).toISOString()],
    ['not a date', () => 'next tuesday'],
    ['a number', () => 17],
  ])('expiresAt %s → BAD_USER_INPUT, no token written', async (_case, expiresAt) => {
    const before = await tenantRowCounts(t.tenantId);
    const res = await gql(
      gw.url,
      ISSUE_TOKEN,
      { input: { name: uniqueName('t'), expiresAt: expiresAt() } },
      member.token,
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toMatch(/expiresAt/);
    expect(await tenantRowCounts(t.tenantId)).toEqual(before);
  });
});

describe('requests that never reach a resolver', () => {
  const post = (body: string, contentType = 'application/json') =>
    fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${t.adminToken}` },
      body,
    });

  test.each([
    ['truncated JSON', '{"query": "{ me { id } }"'],
    ['not JSON at all', 'query=me'],
    ['single quotes', "{'query': '{ me { id } }'}"],
    ['trailing garbage', '{"query": "{ me { id } }"} extra'],
  ])('%s → 400 with a JSON BAD_REQUEST error, no HTML or stack', async (_case, body) => {
    const res = await post(body);
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const parsed = JSON.parse(text) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(parsed.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(text).not.toMatch(/<html|<pre|SyntaxError|node_modules|\bat .+:\d+:\d+/i);
  });

  test('a syntax error → GRAPHQL_PARSE_FAILED; an unknown field → GRAPHQL_VALIDATION_FAILED', async () => {
    expect((await gql(gw.url, '{ me { id ', undefined, t.adminToken)).errors?.[0]?.extensions?.code).toBe(
      'GRAPHQL_PARSE_FAILED',
    );
    expect((await gql(gw.url, '{ me { password } }', undefined, t.adminToken)).errors?.[0]?.extensions?.code).toBe(
      'GRAPHQL_VALIDATION_FAILED',
    );
  });
});

test('after all of the above, the server still answers', async () => {
  expect((await ok(gw, t.adminToken, ME)).me.id).toBe(t.adminId);
  expect((await ok(gw, member.token, ME)).me.id).toBe(member.userId);
});
