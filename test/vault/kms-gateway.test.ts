import { KeySource } from '../../src/modules/credential/key-source';
import { Provider } from '../../src/modules/credential/provider';
import { AwsKmsKeyring } from '../../src/vault/keyring/aws-kms.keyring';
import { Keyrings } from '../../src/vault/keyring/keyrings';
import { LocalKeyring } from '../../src/vault/keyring/local.keyring';
import { TENANT } from '../support/documents';
import {
  createMember,
  createTenantWithAdmin,
  uniqueEmail,
  uniqueName,
  type TenantFixture,
  type UserFixture,
} from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { errorCode, gql } from '../support/graphql-client';
import { sqlOn } from '../support/sql';
import {
  adminOf,
  dataKeyRows,
  expectKeyUnavailable,
  pooled,
  providerKey,
  RecordingClient,
  resolveKey,
  testMasterKey,
  userOf,
} from '../support/vault-fixtures';
import { startKmsServer, type KmsServer } from '../support/kms-server';
import { useTestAwsCredentials } from '../support/vault-keyrings';
import { startIsolatedDatabase, type IsolatedDatabase } from '../support/vault-isolated-database';

/**
 * A gateway whose current keyring is AWS KMS (the real SDK, against the local KMS wire-protocol
 * server), on a database of its own: tenants made here have KMS-wrapped keys, which a local-only
 * gateway of another test file could not unwrap.
 */

const REGION = 'us-east-1';
let restoreEnv: () => void;
let kms: KmsServer;
let keyArn: string;
let kmsKeyring: AwsKmsKeyring;
let db: IsolatedDatabase;
let gw: TestGateway;
let client: RecordingClient;

beforeAll(async () => {
  // The keyring's own client takes credentials from the SDK's default chain.
  restoreEnv = useTestAwsCredentials();
  kms = await startKmsServer({ region: REGION });
  keyArn = kms.createKey('keyward gateway test key');
  db = await startIsolatedDatabase();
  kmsKeyring = await AwsKmsKeyring.create({ keyId: keyArn, endpoint: kms.endpoint, region: REGION });
  gw = await startTestGateway({
    env: { DATABASE_URL: db.url },
    keyrings: new Keyrings(kmsKeyring, [new LocalKeyring(testMasterKey())]),
  });
  client = new RecordingClient(gw);
}, 90_000);

afterEach(() => {
  kms.setFailMode('none');
});

afterAll(async () => {
  await gw?.stop();
  kmsKeyring?.close();
  await db?.close();
  await kms?.close();
  restoreEnv();
});

const count = async (sql: string, params: unknown[] = []) =>
  Number((await sqlOn<{ n: string }>(db.url, sql, params))[0].n);
const tableCounts = async () => ({
  tenants: await count('select count(*) as n from tenants'),
  users: await count('select count(*) as n from users'),
  tokens: await count('select count(*) as n from api_tokens'),
  dataKeys: await count('select count(*) as n from tenant_data_keys'),
});

const dataKeyContext = (tenantId: string) => ({ 'keyward:tenant': tenantId, 'keyward:purpose': 'data-key' });

test('createTenant generates the data key with one KMS GenerateDataKey bound to the new tenant', async () => {
  kms.resetCalls();
  const tenant = await createTenantWithAdmin(gw, 'kms-create');

  // One data key; the other calls are audit chain keys (the new tenant's chain, and the caller's
  // on its first event), each with purpose audit-key, never a second data key.
  const { counts, log } = kms.calls;
  const dataKeyCalls = log.filter((call) => call.encryptionContext?.['keyward:purpose'] === 'data-key');
  expect(dataKeyCalls).toEqual([
    expect.objectContaining({ keyId: keyArn, encryptionContext: dataKeyContext(tenant.tenantId) }),
  ]);
  expect(Object.keys(counts)).toEqual(['GenerateDataKey']);
  const auditKeyCalls = log.filter((call) => call !== dataKeyCalls[0]);
  expect(auditKeyCalls.every((call) => call.encryptionContext?.['keyward:purpose'] === 'audit-key')).toBe(true);
  expect(auditKeyCalls.map((call) => call.encryptionContext?.['keyward:tenant'])).toContain(tenant.tenantId);

  const shown = (await client.ok(tenant.adminToken, TENANT)).tenant;
  expect(shown).toMatchObject({ id: tenant.tenantId, keyring: 'aws-kms', dataKeyVersion: 1 });
  const [row] = await dataKeyRows(db.url, tenant.tenantId);
  expect(row).toMatchObject({ version: 1, keyring: 'aws-kms', master_key_id: keyArn, retired_at: null });
});

describe('data-key cache in front of KMS', () => {
  let tenant: TenantFixture;
  let member: UserFixture;
  let tenantKey: string;
  let personalKey: string;

  beforeAll(async () => {
    tenant = await createTenantWithAdmin(gw, 'kms-cache');
    member = await createMember(gw, tenant.adminToken, 'MEMBER');
    tenantKey = providerKey(Provider.ANTHROPIC);
    personalKey = providerKey(Provider.OPENAI);
    await client.storeCredential(tenant.adminToken, { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: tenantKey });
    await client.storeCredential(member.token, { provider: 'OPENAI', scope: 'PERSONAL', apiKey: personalKey });
  });

  test('100 resolves after the cache is cleared make exactly one KMS Decrypt', async () => {
    gw.gateway.services.dataKeys.cache.clear();
    kms.resetCalls();

    // 50 at once (all miss together: one unwrap must serve them), then 50 one after another.
    const burst = await pooled(50, 50, (i) =>
      i % 2
        ? resolveKey(gw, userOf(tenant, member), Provider.ANTHROPIC, KeySource.AUTO)
        : resolveKey(gw, userOf(tenant, member), Provider.OPENAI, KeySource.AUTO),
    );
    const sequential = [];
    for (let i = 0; i < 50; i++)
      sequential.push(await resolveKey(gw, adminOf(tenant), Provider.ANTHROPIC, KeySource.TENANT));

    expect(burst.filter((result) => result.status === 'rejected')).toEqual([]);
    burst.forEach((result, i) =>
      expect((result as PromiseFulfilledResult<{ apiKey: string }>).value.apiKey).toBe(i % 2 ? tenantKey : personalKey),
    );
    expect(sequential.every((resolved) => resolved.apiKey === tenantKey)).toBe(true);

    const { counts, log } = kms.calls;
    expect(counts).toEqual({ Decrypt: 1 });
    expect(log[0]).toMatchObject({ keyId: keyArn, encryptionContext: dataKeyContext(tenant.tenantId) });
  });

  test('with the key cached, resolves make no KMS call at all', async () => {
    await resolveKey(gw, adminOf(tenant), Provider.ANTHROPIC, KeySource.TENANT);
    kms.resetCalls();
    for (let i = 0; i < 100; i++) await resolveKey(gw, userOf(tenant, member), Provider.ANTHROPIC, KeySource.AUTO);
    expect(kms.calls.counts).toEqual({});
  });
});

describe('KMS down', () => {
  let cached: TenantFixture;
  let uncached: TenantFixture;
  let cachedKey: string;
  let uncachedKey: string;

  beforeAll(async () => {
    cached = await createTenantWithAdmin(gw, 'kms-cached');
    uncached = await createTenantWithAdmin(gw, 'kms-uncached');
    cachedKey = providerKey(Provider.ANTHROPIC);
    uncachedKey = providerKey(Provider.ANTHROPIC);
    await client.storeCredential(cached.adminToken, { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: cachedKey });
    await client.storeCredential(uncached.adminToken, { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: uncachedKey });
    await resolveKey(gw, adminOf(cached), Provider.ANTHROPIC, KeySource.TENANT);
  });

  beforeEach(() => {
    gw.gateway.services.dataKeys.forgetCached(uncached.tenantId);
    kms.resetCalls();
    kms.setFailMode('down');
  });

  test('a tenant whose data key is cached keeps working: resolve and setCredential succeed without KMS', async () => {
    expect((await resolveKey(gw, adminOf(cached), Provider.ANTHROPIC, KeySource.TENANT)).apiKey).toBe(cachedKey);
    const next = providerKey(Provider.OPENAI);
    await client.storeCredential(cached.adminToken, { provider: 'OPENAI', scope: 'TENANT', apiKey: next });
    expect((await resolveKey(gw, adminOf(cached), Provider.OPENAI, KeySource.TENANT)).apiKey).toBe(next);
    expect(kms.calls.log).toEqual([]);
  });

  test('createTenant fails with KEY_UNAVAILABLE and leaves no tenant, user, token or data-key row', async () => {
    const before = await tableCounts();
    const name = uniqueName('kms-down');
    const adminEmail = uniqueEmail('kms-down-admin');

    const res = await gql(
      gw.url,
      'mutation ($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } token } }',
      { input: { name, adminEmail } },
      gw.platformToken,
    );

    expect(errorCode(res)).toBe('KEY_UNAVAILABLE');
    expect(res.data ?? null).toBeNull();
    // The gateway really asked KMS (and the SDK retried) before giving up.
    const attempts = kms.calls.log.filter((call) => call.operation === 'GenerateDataKey');
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    expect(attempts.every((call) => call.error === 'down')).toBe(true);
    expect(await tableCounts()).toEqual(before);
    expect(await count('select count(*) as n from tenants where name_key = lower($1)', [name])).toBe(0);
    expect(await count('select count(*) as n from users where email = lower($1)', [adminEmail])).toBe(0);
    expect(gw.logs.parsed().some((line) => line.msg === 'keyring call failed' && line.operation === 'generate')).toBe(
      true,
    );

    // Once KMS is back, the same name is free and the tenant is created normally.
    kms.setFailMode('none');
    const retried = await gql<{ createTenant: { tenant: { id: string } } }>(
      gw.url,
      'mutation ($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id keyring } } }',
      { input: { name, adminEmail } },
      gw.platformToken,
    );
    expect(retried.errors).toBeUndefined();
    expect(await dataKeyRows(db.url, retried.data!.createTenant.tenant.id)).toHaveLength(1);
  });

  test('a tenant whose data key is not cached fails with KEY_UNAVAILABLE, and recovers when KMS is back', async () => {
    await expectKeyUnavailable(resolveKey(gw, adminOf(uncached), Provider.ANTHROPIC, KeySource.TENANT));
    expect(kms.calls.log.filter((call) => call.operation === 'Decrypt').length).toBeGreaterThanOrEqual(1);
    // A failed unwrap is not cached: the next request after recovery succeeds.
    kms.setFailMode('none');
    expect((await resolveKey(gw, adminOf(uncached), Provider.ANTHROPIC, KeySource.TENANT)).apiKey).toBe(uncachedKey);
  });

  test('setCredential for an uncached tenant fails with KEY_UNAVAILABLE and stores nothing', async () => {
    const before = await count('select count(*) as n from credentials where tenant_id = $1', [uncached.tenantId]);
    const res = await client.setCredential(uncached.adminToken, {
      provider: 'LINEAR',
      scope: 'TENANT',
      apiKey: providerKey(Provider.LINEAR),
    });
    expect(errorCode(res)).toBe('KEY_UNAVAILABLE');
    expect(await count('select count(*) as n from credentials where tenant_id = $1', [uncached.tenantId])).toBe(before);
  });
});
