import { KeySource } from '../../src/modules/credential/key-source';
import { Provider } from '../../src/modules/credential/provider';
import { AwsKmsKeyring } from '../../src/vault/keyring/aws-kms.keyring';
import { Keyrings } from '../../src/vault/keyring/keyrings';
import { LocalKeyring } from '../../src/vault/keyring/local.keyring';
import { REWRAP_DATA_KEYS, ROTATE_DATA_KEY, TENANT } from '../support/documents';
import { createMember, createTenantWithAdmin, type TenantFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { errorCode } from '../support/graphql-client';
import { sqlOn } from '../support/sql';
import {
  adminOf,
  dataKeyRows,
  expectKeyUnavailable,
  providerKey,
  RecordingClient,
  resolveKey,
  testMasterKey,
  userOf,
  type Actor,
  type DataKeyRow,
} from '../support/vault-fixtures';
import { startKmsServer, type KmsServer } from '../support/kms-server';
import { InstrumentedKeyring, useTestAwsCredentials } from '../support/vault-keyrings';
import { startIsolatedDatabase, type IsolatedDatabase } from '../support/vault-isolated-database';

/**
 * rewrapDataKeys moves every tenant's data keys from the local keyring to AWS KMS. It acts on
 * every data key in the database, so this file has a database of its own. Two gateways share it:
 * one that only has the local keyring (where the tenants are made), and one whose current
 * keyring is KMS with local kept for unwrapping (the operator's configuration during a move).
 */

const REGION = 'us-east-1';
let restoreEnv: () => void;
let kms: KmsServer;
let keyArn: string;
let db: IsolatedDatabase;
let localGw: TestGateway;
let kmsGw: TestGateway;
let kmsKeyring: InstrumentedKeyring;
let client: RecordingClient;

beforeAll(async () => {
  // The keyring's own client takes credentials from the SDK's default chain.
  restoreEnv = useTestAwsCredentials();
  kms = await startKmsServer({ region: REGION });
  keyArn = kms.createKey('keyward rewrap target');
  db = await startIsolatedDatabase();
  localGw = await startTestGateway({
    env: { DATABASE_URL: db.url },
    keyrings: new Keyrings(new LocalKeyring(testMasterKey())),
  });
  kmsKeyring = new InstrumentedKeyring(
    await AwsKmsKeyring.create({ keyId: keyArn, endpoint: kms.endpoint, region: REGION }),
  );
  kmsGw = await startTestGateway({
    env: { DATABASE_URL: db.url },
    keyrings: new Keyrings(kmsKeyring, [new LocalKeyring(testMasterKey())]),
  });
  client = new RecordingClient(kmsGw);
}, 90_000);

afterEach(() => {
  kms.setFailMode('none');
  kmsKeyring.onSuccess = undefined;
});

afterAll(async () => {
  await kmsGw?.stop();
  await localGw?.stop();
  (kmsKeyring?.inner as AwsKmsKeyring | undefined)?.close();
  await db?.close();
  await kms?.close();
  restoreEnv();
});

interface StoredKey {
  actor: Actor;
  provider: Provider;
  source: KeySource;
  key: string;
}

/** Tenants made on the local-only gateway, with a tenant key and a member's personal key each. */
async function localTenants(count: number, prefix: string): Promise<{ tenants: TenantFixture[]; keys: StoredKey[] }> {
  const local = new RecordingClient(localGw);
  const tenants: TenantFixture[] = [];
  const keys: StoredKey[] = [];
  for (let i = 0; i < count; i++) {
    const tenant = await createTenantWithAdmin(localGw, prefix);
    const member = await createMember(localGw, tenant.adminToken, 'MEMBER');
    const shared = providerKey(Provider.ANTHROPIC);
    const personal = providerKey(Provider.OPENAI);
    await local.storeCredential(tenant.adminToken, { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: shared });
    await local.storeCredential(member.token, { provider: 'OPENAI', scope: 'PERSONAL', apiKey: personal });
    keys.push({ actor: adminOf(tenant), provider: Provider.ANTHROPIC, source: KeySource.TENANT, key: shared });
    keys.push({ actor: userOf(tenant, member), provider: Provider.OPENAI, source: KeySource.PERSONAL, key: personal });
    tenants.push(tenant);
  }
  return { tenants, keys };
}

const allDataKeys = () => dataKeyRows(db.url);
const credentialsSnapshot = () =>
  sqlOn(db.url, 'select id, ciphertext, data_key_version, updated_at from credentials order by id');
const rewrap = (token: string) => client.send(token, REWRAP_DATA_KEYS);
/** Audit chain keys not yet under the KMS key (rewrapDataKeys moves them too, after the data keys). */
const staleAuditKeys = async (): Promise<string[]> =>
  (
    await sqlOn<{ chain: string }>(
      db.url,
      'select chain from audit_keys where keyring <> $1 or master_key_id <> $2 order by chain',
      ['aws-kms', keyArn],
    )
  ).map((row) => row.chain);
const purposeOf = (call: { encryptionContext?: Record<string, string> }) => call.encryptionContext?.['keyward:purpose'];

/** Each stored key resolves to its plaintext on `gw` with its data-key cache emptied first. */
async function expectAllResolve(gw: TestGateway, keys: StoredKey[]): Promise<void> {
  gw.gateway.services.dataKeys.cache.clear();
  for (const stored of keys) {
    expect((await resolveKey(gw, stored.actor, stored.provider, stored.source)).apiKey).toBe(stored.key);
  }
}

let first: { tenants: TenantFixture[]; keys: StoredKey[] };

test('only a PLATFORM_ADMIN may rewrap: TENANT_ADMIN and MEMBER get FORBIDDEN and nothing changes', async () => {
  first = await localTenants(3, 'rewrap');
  // One tenant has rotated: it has a retired v1 and an active v2, both to be moved.
  expect(
    (await new RecordingClient(localGw).ok(first.tenants[0].adminToken, ROTATE_DATA_KEY)).rotateDataKey.dataKeyVersion,
  ).toBe(2);
  const member = await createMember(kmsGw, first.tenants[1].adminToken, 'MEMBER');
  const before = await allDataKeys();
  kms.resetCalls();

  expect(errorCode(await rewrap(first.tenants[1].adminToken))).toBe('FORBIDDEN');
  expect(errorCode(await rewrap(member.token))).toBe('FORBIDDEN');

  expect(await allDataKeys()).toEqual(before);
  expect(kms.calls.log).toEqual([]);
});

test('rewrapDataKeys moves every local data key under the KMS key, returns the count, and leaves credentials alone', async () => {
  const before = await allDataKeys();
  const stale = before.filter((row) => row.keyring !== 'aws-kms');
  // 3 tenants (one of them with two versions) and the platform tenant.
  expect(stale.length).toBe(5);
  const credentialsBefore = await credentialsSnapshot();
  const staleAudit = await staleAuditKeys();
  expect(staleAudit.length).toBeGreaterThan(0);
  kms.resetCalls();

  const res = await rewrap(kmsGw.platformToken);

  expect(res.errors).toBeUndefined();
  expect(res.data!.rewrapDataKeys).toBe(stale.length + staleAudit.length);
  const after = await allDataKeys();
  expect(after.map((row) => row.id)).toEqual(before.map((row) => row.id));
  after.forEach((row, i) => {
    expect(row).toMatchObject({
      keyring: 'aws-kms',
      master_key_id: keyArn,
      version: before[i].version,
      retired_at: before[i].retired_at,
    });
    expect(row.rewrapped_at).toBeInstanceOf(Date);
    expect(row.wrapped_key.equals(before[i].wrapped_key)).toBe(false);
  });
  // One KMS Encrypt per key, each bound to its own tenant (data keys) or chain (audit keys), with its purpose.
  // (The datakey.rewrap event itself may then unwrap its chain's key, now under KMS: one audit-key Decrypt.)
  const { counts } = kms.calls;
  const log = kms.calls.log.filter((call) => call.operation === 'Encrypt');
  expect(counts.Encrypt).toBe(stale.length + staleAudit.length);
  expect(
    kms.calls.log.filter((call) => call.operation !== 'Encrypt').every((call) => purposeOf(call) === 'audit-key'),
  ).toBe(true);
  const dataKeyCalls = log.filter((call) => purposeOf(call) === 'data-key');
  expect(dataKeyCalls.map((call) => call.encryptionContext!['keyward:tenant']).sort()).toEqual(
    stale.map((row) => row.tenant_id).sort(),
  );
  const auditKeyCalls = log.filter((call) => purposeOf(call) === 'audit-key');
  expect(auditKeyCalls.map((call) => call.encryptionContext!['keyward:tenant']).sort()).toEqual(staleAudit);
  expect(log.every((call) => call.keyId === keyArn)).toBe(true);
  expect(await staleAuditKeys()).toEqual([]);
  // Credentials are not touched by a rewrap.
  expect(await credentialsSnapshot()).toEqual(credentialsBefore);

  // Every credential still opens, now through KMS Decrypt.
  kms.resetCalls();
  await expectAllResolve(kmsGw, first.keys);
  expect(kms.calls.counts.Decrypt).toBe(first.tenants.length);
  expect((await client.ok(first.tenants[0].adminToken, TENANT)).tenant).toMatchObject({
    keyring: 'aws-kms',
    dataKeyVersion: 2,
  });

  // The keys have really left the local master key: a gateway with only the local keyring cannot unwrap them.
  localGw.gateway.services.dataKeys.cache.clear();
  await expectKeyUnavailable(resolveKey(localGw, first.keys[0].actor, first.keys[0].provider, first.keys[0].source));
});

test('running it again finds nothing to do: 0, and no KMS call', async () => {
  const before = await allDataKeys();
  kms.resetCalls();
  const res = await rewrap(kmsGw.platformToken);
  expect(res.data!.rewrapDataKeys).toBe(0);
  expect(kms.calls.log).toEqual([]);
  expect(await allDataKeys()).toEqual(before);
});

test('an interrupted rewrap keeps the keys it finished; the next run re-wraps the rest', async () => {
  const second = await localTenants(4, 'rewrap-resume');
  const pending = (await allDataKeys()).filter((row) => row.keyring === 'local');
  expect(pending.map((row) => row.tenant_id).sort()).toEqual(second.tenants.map((tenant) => tenant.tenantId).sort());

  // KMS goes down after two successful Encrypts.
  kmsKeyring.resetCounts();
  kmsKeyring.onSuccess = (operation, successes) => {
    if (operation === 'wrap' && successes === 2) kms.setFailMode('down');
  };
  const interrupted = await rewrap(kmsGw.platformToken);
  expect(errorCode(interrupted)).toBe('KEY_UNAVAILABLE');
  expect(kmsKeyring.calls.wrap).toBe(3);

  const midway = await allDataKeys();
  const moved = midway.filter((row) => pending.some((p) => p.id === row.id) && row.keyring === 'aws-kms');
  const left = midway.filter((row) => row.keyring === 'local');
  expect(moved).toHaveLength(2);
  expect(left).toHaveLength(2);
  // The ones left are untouched.
  for (const row of left) {
    const original = pending.find((p) => p.id === row.id) as DataKeyRow;
    expect(row.wrapped_key.equals(original.wrapped_key)).toBe(true);
    expect(row.rewrapped_at).toBeNull();
  }

  // Mixed keyrings work side by side once KMS is back.
  kms.setFailMode('none');
  kmsKeyring.onSuccess = undefined;
  await expectAllResolve(kmsGw, second.keys);

  kms.resetCalls();
  const staleAudit = await staleAuditKeys();
  const resumed = await rewrap(kmsGw.platformToken);
  expect(resumed.errors).toBeUndefined();
  expect(resumed.data!.rewrapDataKeys).toBe(2 + staleAudit.length);
  expect(kms.calls.counts).toEqual({ Encrypt: 2 + staleAudit.length });
  expect((await allDataKeys()).filter((row) => row.keyring !== 'aws-kms' || row.master_key_id !== keyArn)).toEqual([]);
  await expectAllResolve(kmsGw, [...first.keys, ...second.keys]);
  expect((await rewrap(kmsGw.platformToken)).data!.rewrapDataKeys).toBe(0);
});
