import { randomBytes } from 'node:crypto';
import { KeySource } from '../../src/modules/credential/key-source';
import { Provider } from '../../src/modules/credential/provider';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { DELETE_CREDENTIAL, KEY_STATUS, SET_CREDENTIAL, type CredentialView } from '../support/documents';
import { createMember, createTenantWithAdmin, type TenantFixture, type UserFixture } from '../support/fixtures';
import { type TestGateway } from '../support/gateway';
import { errorCode, gql } from '../support/graphql-client';
import { sql } from '../support/sql';
import {
  adminOf,
  keywardErrorOf,
  providerKey,
  RecordingClient,
  resolveKey,
  startSharedGateway,
  userOf,
} from '../support/vault-fixtures';

/**
 * setCredential / deleteCredential / credentials / keyStatus over GraphQL, against a real gateway
 * whose Anthropic key check talks to a local Anthropic API server.
 */

let anthropic: AnthropicServer;
let gw: TestGateway;
let client: RecordingClient;
let platformKey: string;

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  platformKey = providerKey(Provider.ANTHROPIC);
  gw = await startSharedGateway({ env: { ANTHROPIC_BASE_URL: anthropic.baseURL, ANTHROPIC_API_KEY: platformKey } });
  client = new RecordingClient(gw);
});

afterAll(async () => {
  await gw?.stop();
  await anthropic?.close();
});

/** No response body of this file ever carried a submitted key (nor the platform key). */
const submittedKeys = new Set<string>();
const submit = (key: string): string => {
  submittedKeys.add(key);
  return key;
};

const rowsOf = (tenantId: string) =>
  sql<{
    id: string;
    provider: string;
    scope: string;
    owner_id: string | null;
    last4: string;
    data_key_version: number;
  }>(
    'select id, provider, scope, owner_id, last4, data_key_version from credentials where tenant_id = $1 order by created_at, id',
    [tenantId],
  );

/** Requests the Anthropic server received carrying this key. */
const upstreamCallsWith = (key: string) => anthropic.requests.filter((request) => request.apiKey === key);

/** A key whose last four characters differ from `other`'s, so a replacement is visible in last4. */
function anotherKey(provider: Provider, other: string): string {
  for (;;) {
    const key = providerKey(provider);
    if (key.slice(-4) !== other.slice(-4)) return key;
  }
}

describe('setCredential', () => {
  let tenant: TenantFixture;
  let member: UserFixture;

  beforeAll(async () => {
    tenant = await createTenantWithAdmin(gw, 'cred-set');
    member = await createMember(gw, tenant.adminToken, 'MEMBER');
  });

  test('validate:false stores the key and answers with metadata only (last4, dataKeyVersion), never the key', async () => {
    const apiKey = submit(providerKey(Provider.OPENAI));
    const before = upstreamCallsWith(apiKey).length;
    const res = await client.setCredential(tenant.adminToken, {
      provider: 'OPENAI',
      scope: 'TENANT',
      apiKey,
      label: 'shared',
    });

    expect(res.errors).toBeUndefined();
    const credential = res.data!.setCredential;
    expect(credential).toMatchObject({
      provider: 'OPENAI',
      scope: 'TENANT',
      label: 'shared',
      last4: apiKey.slice(-4),
      dataKeyVersion: 1,
      owner: null,
      lastUsedAt: null,
    });
    expect(res.raw).not.toContain(apiKey);
    expect(res.raw).not.toContain(apiKey.slice(8, 30));
    expect(upstreamCallsWith(apiKey).length).toBe(before);

    const rows = (await rowsOf(tenant.tenantId)).filter((row) => row.provider === 'OPENAI');
    expect(rows).toEqual([
      expect.objectContaining({
        id: credential.id,
        scope: 'TENANT',
        owner_id: null,
        last4: apiKey.slice(-4),
        data_key_version: 1,
      }),
    ]);
    // It is really the key that was stored: the gateway's own resolution opens it.
    const resolved = await resolveKey(gw, userOf(tenant, member), Provider.OPENAI, KeySource.TENANT);
    expect(resolved).toMatchObject({ source: 'TENANT', credentialId: credential.id, dataKeyVersion: 1, apiKey });
  });

  test('PERSONAL keys belong to the caller and carry an owner', async () => {
    const apiKey = submit(providerKey(Provider.GITHUB));
    const credential = await client.storeCredential(member.token, { provider: 'GITHUB', scope: 'PERSONAL', apiKey });
    expect(credential).toMatchObject({ scope: 'PERSONAL', owner: { id: member.userId }, last4: apiKey.slice(-4) });
    expect((await resolveKey(gw, userOf(tenant, member), Provider.GITHUB, KeySource.PERSONAL)).apiKey).toBe(apiKey);
    // The admin has no personal GitHub key because of it.
    expect((await keywardErrorOf(resolveKey(gw, adminOf(tenant), Provider.GITHUB, KeySource.PERSONAL))).code).toBe(
      'PERSONAL_KEY_MISSING',
    );
  });

  test.each([
    ['TENANT', 'LINEAR'],
    ['PERSONAL', 'OPENROUTER'],
  ] as const)(
    'a second set for the same %s slot replaces the key in place (same id, new last4, one row)',
    async (scope, provider) => {
      const token = scope === 'TENANT' ? tenant.adminToken : member.token;
      const actor = scope === 'TENANT' ? adminOf(tenant) : userOf(tenant, member);
      const first = submit(providerKey(Provider[provider]));
      const second = submit(anotherKey(Provider[provider], first));

      const created = await client.storeCredential(token, { provider, scope, apiKey: first, label: 'v1' });
      const replaced = await client.storeCredential(token, { provider, scope, apiKey: second, label: 'v2' });

      expect(replaced.id).toBe(created.id);
      expect(replaced.last4).toBe(second.slice(-4));
      expect(replaced.last4).not.toBe(created.last4);
      expect(replaced.label).toBe('v2');
      expect(new Date(replaced.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(created.updatedAt).getTime());
      const slotRows = (await rowsOf(tenant.tenantId)).filter(
        (row) => row.provider === provider && row.scope === scope,
      );
      expect(slotRows).toHaveLength(1);
      expect(slotRows[0]).toMatchObject({ id: created.id, last4: second.slice(-4) });
      expect((await resolveKey(gw, actor, Provider[provider], KeySource[scope])).apiKey).toBe(second);
    },
  );

  test('the same provider in the other scope is a separate slot', async () => {
    const personal = submit(providerKey(Provider.LINEAR));
    const mine = await client.storeCredential(tenant.adminToken, {
      provider: 'LINEAR',
      scope: 'PERSONAL',
      apiKey: personal,
    });
    const shared = (await rowsOf(tenant.tenantId)).find((row) => row.provider === 'LINEAR' && row.scope === 'TENANT');
    expect(shared).toBeDefined();
    expect(mine.id).not.toBe(shared!.id);
    expect((await resolveKey(gw, adminOf(tenant), Provider.LINEAR, KeySource.AUTO)).apiKey).toBe(personal);
  });
});

describe('setCredential with validate:true (Anthropic key check)', () => {
  let tenant: TenantFixture;

  beforeAll(async () => {
    tenant = await createTenantWithAdmin(gw, 'cred-validate');
  });

  test('a key Anthropic accepts is checked with GET /v1/models and stored', async () => {
    const apiKey = submit(providerKey(Provider.ANTHROPIC));
    const credential = await client.storeCredential(tenant.adminToken, {
      provider: 'ANTHROPIC',
      scope: 'TENANT',
      apiKey,
      validate: true,
    });

    const calls = upstreamCallsWith(apiKey);
    expect(calls.map((call) => [call.method, call.path, call.status])).toEqual([['GET', '/v1/models', 200]]);
    expect(credential.last4).toBe(apiKey.slice(-4));
    expect((await resolveKey(gw, adminOf(tenant), Provider.ANTHROPIC, KeySource.TENANT)).apiKey).toBe(apiKey);
  });

  test('validate defaults to true when omitted', async () => {
    const apiKey = submit(providerKey(Provider.ANTHROPIC));
    const res = await client.send(tenant.adminToken, SET_CREDENTIAL, {
      input: { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey },
    });
    expect(res.errors).toBeUndefined();
    expect(upstreamCallsWith(apiKey)).toHaveLength(1);
  });

  test.each([401, 403] as const)(
    'a key Anthropic rejects with %i → INVALID_PROVIDER_KEY, and nothing is stored',
    async (status) => {
      const fresh = await createTenantWithAdmin(gw, 'cred-reject');
      const apiKey = submit(providerKey(Provider.ANTHROPIC));
      anthropic.rejectKey(apiKey, status);

      const res = await client.setCredential(fresh.adminToken, {
        provider: 'ANTHROPIC',
        scope: 'TENANT',
        apiKey,
        validate: true,
      });

      expect(errorCode(res)).toBe('INVALID_PROVIDER_KEY');
      expect(res.data ?? null).toBeNull();
      expect(upstreamCallsWith(apiKey).map((call) => call.status)).toEqual([status]);
      expect(await rowsOf(fresh.tenantId)).toEqual([]);
      expect(res.raw).not.toContain(apiKey);
    },
  );

  test('a rejected replacement leaves the stored key untouched', async () => {
    const good = submit(providerKey(Provider.ANTHROPIC));
    const bad = submit(anotherKey(Provider.ANTHROPIC, good));
    const fresh = await createTenantWithAdmin(gw, 'cred-reject-replace');
    const stored = await client.storeCredential(fresh.adminToken, {
      provider: 'ANTHROPIC',
      scope: 'TENANT',
      apiKey: good,
      validate: true,
    });
    anthropic.rejectKey(bad, 401);

    const res = await client.setCredential(fresh.adminToken, {
      provider: 'ANTHROPIC',
      scope: 'TENANT',
      apiKey: bad,
      validate: true,
    });

    expect(errorCode(res)).toBe('INVALID_PROVIDER_KEY');
    expect(await rowsOf(fresh.tenantId)).toEqual([expect.objectContaining({ id: stored.id, last4: good.slice(-4) })]);
    expect((await resolveKey(gw, adminOf(fresh), Provider.ANTHROPIC, KeySource.TENANT)).apiKey).toBe(good);
  });
});

describe('keyStatus', () => {
  test('reports what the caller could use, per provider, as booleans', async () => {
    const tenant = await createTenantWithAdmin(gw, 'cred-status');
    const alice = await createMember(gw, tenant.adminToken, 'MEMBER');
    const bob = await createMember(gw, tenant.adminToken, 'MEMBER');
    const status = async (token: string, provider: Provider) =>
      (await client.ok(token, KEY_STATUS, { provider })).keyStatus;
    const expected = (
      provider: Provider,
      hasPersonalKey: boolean,
      hasTenantKey: boolean,
      platformKeyAvailable: boolean,
    ) => ({
      provider,
      hasPersonalKey,
      hasTenantKey,
      platformKeyAvailable,
    });

    // The operator's ANTHROPIC_API_KEY is a platform key for Anthropic only.
    expect(await status(alice.token, Provider.ANTHROPIC)).toEqual(expected(Provider.ANTHROPIC, false, false, true));
    expect(await status(alice.token, Provider.OPENAI)).toEqual(expected(Provider.OPENAI, false, false, false));

    await client.storeCredential(tenant.adminToken, {
      provider: 'ANTHROPIC',
      scope: 'TENANT',
      apiKey: submit(providerKey(Provider.ANTHROPIC)),
    });
    expect(await status(alice.token, Provider.ANTHROPIC)).toEqual(expected(Provider.ANTHROPIC, false, true, true));

    await client.storeCredential(alice.token, {
      provider: 'ANTHROPIC',
      scope: 'PERSONAL',
      apiKey: submit(providerKey(Provider.ANTHROPIC)),
    });
    expect(await status(alice.token, Provider.ANTHROPIC)).toEqual(expected(Provider.ANTHROPIC, true, true, true));
    // Alice's personal key is not Bob's, and no other provider changed.
    expect(await status(bob.token, Provider.ANTHROPIC)).toEqual(expected(Provider.ANTHROPIC, false, true, true));
    expect(await status(alice.token, Provider.OPENAI)).toEqual(expected(Provider.OPENAI, false, false, false));

    await client.ok(tenant.adminToken, 'mutation { updateTenantPolicy(input: { allowPlatformKey: false }) { id } }');
    expect(await status(alice.token, Provider.ANTHROPIC)).toEqual(expected(Provider.ANTHROPIC, true, true, false));
  });
});

describe('deleteCredential', () => {
  test('a member deletes their own personal key; it is gone for every path', async () => {
    const tenant = await createTenantWithAdmin(gw, 'cred-delete');
    const member = await createMember(gw, tenant.adminToken, 'MEMBER');
    const stored = await client.storeCredential(member.token, {
      provider: 'ANTHROPIC',
      scope: 'PERSONAL',
      apiKey: submit(providerKey(Provider.ANTHROPIC)),
    });

    expect((await client.ok(member.token, DELETE_CREDENTIAL, { id: stored.id })).deleteCredential).toBe(true);

    expect(await rowsOf(tenant.tenantId)).toEqual([]);
    expect((await client.ok(member.token, KEY_STATUS, { provider: 'ANTHROPIC' })).keyStatus.hasPersonalKey).toBe(false);
    expect(await client.credentials(member.token)).toEqual([]);
    expect(
      (await keywardErrorOf(resolveKey(gw, userOf(tenant, member), Provider.ANTHROPIC, KeySource.PERSONAL))).code,
    ).toBe('PERSONAL_KEY_MISSING');
    // Deleting it again: it does not exist any more.
    expect(errorCode(await client.send(member.token, DELETE_CREDENTIAL, { id: stored.id }))).toBe('NOT_FOUND');
  });

  test('a tenant admin deletes the tenant key', async () => {
    const tenant = await createTenantWithAdmin(gw, 'cred-delete-tenant');
    const stored = await client.storeCredential(tenant.adminToken, {
      provider: 'OPENAI',
      scope: 'TENANT',
      apiKey: submit(providerKey(Provider.OPENAI)),
    });
    expect((await client.ok(tenant.adminToken, DELETE_CREDENTIAL, { id: stored.id })).deleteCredential).toBe(true);
    expect(await rowsOf(tenant.tenantId)).toEqual([]);
    expect((await keywardErrorOf(resolveKey(gw, adminOf(tenant), Provider.OPENAI, KeySource.TENANT))).code).toBe(
      'TENANT_KEY_MISSING',
    );
  });
});

describe('roles', () => {
  let tenant: TenantFixture;
  let alice: UserFixture;
  let bob: UserFixture;
  let auditor: UserFixture;
  let aliceKey: CredentialView;
  let tenantKey: CredentialView;
  let aliceSecret: string;
  let tenantSecret: string;

  beforeAll(async () => {
    tenant = await createTenantWithAdmin(gw, 'cred-roles');
    alice = await createMember(gw, tenant.adminToken, 'MEMBER');
    bob = await createMember(gw, tenant.adminToken, 'MEMBER');
    auditor = await createMember(gw, tenant.adminToken, 'AUDITOR');
    aliceSecret = submit(providerKey(Provider.OPENAI));
    tenantSecret = submit(providerKey(Provider.OPENAI));
    aliceKey = await client.storeCredential(alice.token, {
      provider: 'OPENAI',
      scope: 'PERSONAL',
      apiKey: aliceSecret,
    });
    tenantKey = await client.storeCredential(tenant.adminToken, {
      provider: 'OPENAI',
      scope: 'TENANT',
      apiKey: tenantSecret,
    });
  });

  const ids = async () => (await rowsOf(tenant.tenantId)).map((row) => row.id).sort();

  test('TENANT scope is for tenant admins only: a member gets FORBIDDEN and nothing is stored', async () => {
    const before = await ids();
    const apiKey = submit(providerKey(Provider.LINEAR));
    const res = await client.setCredential(alice.token, { provider: 'LINEAR', scope: 'TENANT', apiKey });
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(await ids()).toEqual(before);
  });

  test.each(['PERSONAL', 'TENANT'] as const)('an AUDITOR cannot set a %s key', async (scope) => {
    const before = await ids();
    const res = await client.setCredential(auditor.token, {
      provider: 'LINEAR',
      scope,
      apiKey: submit(providerKey(Provider.LINEAR)),
    });
    expect(errorCode(res)).toBe('FORBIDDEN');
    expect(await ids()).toEqual(before);
  });

  test("a member cannot delete another member's personal key, nor the tenant key", async () => {
    expect(errorCode(await client.send(bob.token, DELETE_CREDENTIAL, { id: aliceKey.id }))).toBe('FORBIDDEN');
    expect(errorCode(await client.send(alice.token, DELETE_CREDENTIAL, { id: tenantKey.id }))).toBe('FORBIDDEN');
    expect(await ids()).toEqual(expect.arrayContaining([aliceKey.id, tenantKey.id]));
    expect((await resolveKey(gw, userOf(tenant, alice), Provider.OPENAI, KeySource.PERSONAL)).apiKey).toBe(aliceSecret);
  });

  test("a member's personal set never touches another member's slot", async () => {
    const bobSecret = submit(providerKey(Provider.OPENAI));
    const bobKey = await client.storeCredential(bob.token, {
      provider: 'OPENAI',
      scope: 'PERSONAL',
      apiKey: bobSecret,
    });
    expect(bobKey.id).not.toBe(aliceKey.id);
    expect(bobKey.owner).toEqual({ id: bob.userId });
    expect((await resolveKey(gw, userOf(tenant, alice), Provider.OPENAI, KeySource.PERSONAL)).apiKey).toBe(aliceSecret);
    expect((await resolveKey(gw, userOf(tenant, bob), Provider.OPENAI, KeySource.PERSONAL)).apiKey).toBe(bobSecret);
  });

  test("credentials: a member sees only their own keys; an admin sees the tenant's, with last4 only", async () => {
    const mine = await client.credentials(alice.token);
    expect(mine.map((credential) => credential.id)).toEqual([aliceKey.id]);

    const res = await client.send(tenant.adminToken, '{ credentials { id scope last4 owner { id } } }');
    const listed = res.data!.credentials;
    expect(listed).toEqual(
      expect.arrayContaining([
        { id: aliceKey.id, scope: 'PERSONAL', last4: aliceSecret.slice(-4), owner: { id: alice.userId } },
        { id: tenantKey.id, scope: 'TENANT', last4: tenantSecret.slice(-4), owner: null },
      ]),
    );
    expect(res.raw).not.toContain(aliceSecret);
    expect(res.raw).not.toContain(aliceSecret.slice(0, -4));
  });

  test("an admin may delete a member's personal key", async () => {
    const secret = submit(providerKey(Provider.GITHUB));
    const key = await client.storeCredential(bob.token, { provider: 'GITHUB', scope: 'PERSONAL', apiKey: secret });
    expect((await client.ok(tenant.adminToken, DELETE_CREDENTIAL, { id: key.id })).deleteCredential).toBe(true);
    expect(await ids()).not.toContain(key.id);
  });

  test("another tenant's credential id is NOT_FOUND, and the credential survives", async () => {
    const other = await createTenantWithAdmin(gw, 'cred-roles-other');
    const otherMember = await createMember(gw, other.adminToken, 'MEMBER');
    for (const token of [other.adminToken, otherMember.token]) {
      for (const id of [aliceKey.id, tenantKey.id]) {
        expect(errorCode(await client.send(token, DELETE_CREDENTIAL, { id }))).toBe('NOT_FOUND');
      }
    }
    expect(await ids()).toEqual(expect.arrayContaining([aliceKey.id, tenantKey.id]));
    // Ids that are not UUIDs are not found either (never a server error).
    expect(errorCode(await client.send(other.adminToken, DELETE_CREDENTIAL, { id: 'not-a-uuid' }))).toBe('NOT_FOUND');
  });
});

describe('bad input', () => {
  let tenant: TenantFixture;

  beforeAll(async () => {
    tenant = await createTenantWithAdmin(gw, 'cred-bad');
  });

  const secretPart = () => randomBytes(24).toString('base64url');

  // [case, provider, key from a random secret part]: every key is new per run; `validate` is left
  // at its default (true), so a key that got past the format check would also be sent upstream.
  const CASES: Array<[string, Provider, (secret: string) => string]> = [
    ['an empty key', Provider.ANTHROPIC, () => ''],
    [
      'a 100 KB key',
      Provider.ANTHROPIC,
      (secret) => `sk-ant-api03-${secret}${randomBytes(75 * 1024).toString('base64url')}`,
    ],
    ['a NUL character', Provider.ANTHROPIC, (secret) => `sk-ant-api03-${secret}\u0000${secretPart()}`],
    ['a newline inside', Provider.OPENAI, (secret) => `sk-proj-${secret}\n${secretPart()}`],
    ['a trailing newline', Provider.ANTHROPIC, (secret) => `sk-ant-api03-${secret}\n`],
    ['an escape character', Provider.LINEAR, (secret) => `lin_api_${secret}\u001b[31m`],
    ['a DEL character', Provider.GITHUB, (secret) => `ghp_${secret}\u007f`],
    ['a non-ASCII character', Provider.OPENROUTER, (secret) => `sk-or-v1-${secret}é`],
    ['ANTHROPIC with an OpenAI key', Provider.ANTHROPIC, (secret) => `sk-proj-${secret}`],
    ['OPENAI without the sk- prefix', Provider.OPENAI, (secret) => `pk-${secret}`],
    ['OPENROUTER with an OpenAI key', Provider.OPENROUTER, (secret) => `sk-proj-${secret}`],
    ['GITHUB with an OAuth token (gho_)', Provider.GITHUB, (secret) => `gho_${secret}`],
    ['LINEAR with an OAuth token', Provider.LINEAR, (secret) => `lin_oauth_${secret}`],
    ['a bare prefix', Provider.ANTHROPIC, () => 'sk-ant-'],
    ['a key too short after its prefix', Provider.LINEAR, (secret) => `lin_api_${secret.slice(0, 10)}`],
  ];

  test.each(CASES)(
    '%s → BAD_USER_INPUT, nothing stored, the key neither echoed nor sent upstream',
    async (_case, provider, makeKey) => {
      const secret = secretPart();
      const apiKey = submit(makeKey(secret));
      const requestsBefore = anthropic.requests.length;
      const res = await client.send(tenant.adminToken, SET_CREDENTIAL, {
        input: { provider, scope: 'TENANT', apiKey },
      });

      expect(res.status).toBeLessThan(500);
      expect(errorCode(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0].extensions).toMatchObject({ field: 'apiKey' });
      expect(res.data ?? null).toBeNull();
      expect(await rowsOf(tenant.tenantId)).toEqual([]);
      expect(anthropic.requests.length).toBe(requestsBefore);
      if (apiKey) {
        expect(res.raw).not.toContain(apiKey);
        expect(res.raw).not.toContain(JSON.stringify(apiKey).slice(1, -1));
        // Not even a slice of the random part (a message could quote part of the key).
        const quoted = apiKey.includes(secret) ? secret : secret.slice(0, 10);
        expect(res.raw).not.toContain(quoted.slice(0, 10));
        expect(res.raw).not.toContain(quoted.slice(-10));
      }
    },
  );

  test('an unknown provider in variables → BAD_USER_INPUT (HTTP 400) before any resolver runs', async () => {
    const apiKey = submit(providerKey(Provider.ANTHROPIC));
    const res = await client.send(tenant.adminToken, SET_CREDENTIAL, {
      input: { provider: 'MISTRAL', scope: 'TENANT', apiKey },
    });
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.raw).not.toContain(apiKey);
    expect(await rowsOf(tenant.tenantId)).toEqual([]);
  });

  test('an unknown provider written in the document → GRAPHQL_VALIDATION_FAILED (HTTP 400)', async () => {
    const apiKey = submit(providerKey(Provider.ANTHROPIC));
    const res = await client.send(
      tenant.adminToken,
      `mutation { setCredential(input: { provider: MISTRAL, scope: TENANT, apiKey: ${JSON.stringify(apiKey)}, validate: false }) { id } }`,
    );
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.raw).not.toContain(apiKey);
    expect(await rowsOf(tenant.tenantId)).toEqual([]);
  });

  test.each([
    ['a missing scope', (apiKey: string) => ({ provider: 'ANTHROPIC', apiKey })],
    [
      'an unknown input field',
      (apiKey: string) => ({ provider: 'ANTHROPIC', scope: 'TENANT', apiKey, organisation: 'x' }),
    ],
    [
      'a non-boolean validate',
      (apiKey: string) => ({ provider: 'ANTHROPIC', scope: 'TENANT', apiKey, validate: 'yes' }),
    ],
  ])('%s → BAD_USER_INPUT, and the error does not quote the input (which holds the key)', async (_case, input) => {
    const apiKey = submit(providerKey(Provider.ANTHROPIC));
    const res = await gql(gw.url, SET_CREDENTIAL, { input: input(apiKey) }, tenant.adminToken);
    client.bodies.push(res.raw);
    expect(res.status).toBe(400);
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
    expect(res.raw).not.toContain(apiKey);
    expect(await rowsOf(tenant.tenantId)).toEqual([]);
  });

  test('none of the rejected keys reached the logs', () => {
    const logged = gw.logs.text;
    const leaked = [...submittedKeys].filter((key) => key.length >= 16 && logged.includes(key));
    expect(leaked).toEqual([]);
  });
});

// Declared last, so it runs after every test above.
test('no response body received in this file carried a submitted key or the platform key', () => {
  const keys = [...submittedKeys, platformKey].filter((key) => key.length >= 16);
  expect(keys.length).toBeGreaterThan(30);
  expect(client.bodies.length).toBeGreaterThan(50);
  const leaks = keys.filter((key) => client.bodies.some((body) => body.includes(key)));
  expect(leaks).toEqual([]);
});
