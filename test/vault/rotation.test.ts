import { CredentialEntity } from '../../src/modules/credential/credential.entity';
import { KeySource } from '../../src/modules/credential/key-source';
import { sealedCredential } from '../../src/modules/credential/sealed-credential';
import { Provider } from '../../src/modules/credential/provider';
import { Keyrings } from '../../src/vault/keyring/keyrings';
import { LocalKeyring } from '../../src/vault/keyring/local.keyring';
import { ROTATE_DATA_KEY, TENANT } from '../support/documents';
import { createMember, createTenantWithAdmin, type TenantFixture, type UserFixture } from '../support/fixtures';
import { type TestGateway } from '../support/gateway';
import { errorCode } from '../support/graphql-client';
import { sql, testDatabaseUrl } from '../support/sql';
import {
  adminOf,
  credentialRows,
  dataKeyRows,
  providerKey,
  RecordingClient,
  resolveKey,
  startSharedGateway,
  testMasterKey,
  userOf,
  type Actor,
} from '../support/vault-fixtures';
import { InstrumentedKeyring } from '../support/vault-keyrings';

/**
 * rotateDataKey: a new data-key version, every credential re-encrypted under it in one
 * transaction, concurrent requests unaffected, and a failed rotation leaves nothing behind.
 * The gateway's keyring is the real local keyring behind a decorator that can make calls fail.
 */

let keyring: InstrumentedKeyring;
let gw: TestGateway;
let client: RecordingClient;

beforeAll(async () => {
  keyring = new InstrumentedKeyring(new LocalKeyring(testMasterKey()));
  gw = await startSharedGateway({ keyrings: new Keyrings(keyring) });
  client = new RecordingClient(gw);
});

afterEach(() => keyring.failing.clear());
afterAll(() => gw?.stop());

interface StoredKey {
  actor: Actor;
  provider: Provider;
  source: KeySource;
  key: string;
}

interface TenantWithKeys {
  tenant: TenantFixture;
  member: UserFixture;
  keys: StoredKey[];
}

/** A tenant with tenant keys, a member's personal keys and the admin's personal key. */
async function tenantWithKeys(prefix: string): Promise<TenantWithKeys> {
  const tenant = await createTenantWithAdmin(gw, prefix);
  const member = await createMember(gw, tenant.adminToken, 'MEMBER');
  const keys: StoredKey[] = [];
  const store = async (token: string, actor: Actor, provider: Provider, scope: 'TENANT' | 'PERSONAL') => {
    const key = providerKey(provider);
    await client.storeCredential(token, { provider, scope, apiKey: key });
    keys.push({ actor, provider, source: KeySource[scope], key });
  };
  await store(tenant.adminToken, adminOf(tenant), Provider.ANTHROPIC, 'TENANT');
  await store(tenant.adminToken, adminOf(tenant), Provider.OPENAI, 'TENANT');
  await store(tenant.adminToken, adminOf(tenant), Provider.LINEAR, 'TENANT');
  await store(member.token, userOf(tenant, member), Provider.ANTHROPIC, 'PERSONAL');
  await store(member.token, userOf(tenant, member), Provider.GITHUB, 'PERSONAL');
  await store(tenant.adminToken, adminOf(tenant), Provider.OPENROUTER, 'PERSONAL');
  return { tenant, member, keys };
}

const resolveStored = (stored: StoredKey) => resolveKey(gw, stored.actor, stored.provider, stored.source);

/** Everything a rotation could change, as stored. */
async function snapshot(tenantId: string) {
  return {
    tenant: await sql('select data_key_version from tenants where id = $1', [tenantId]),
    credentials: await sql('select * from credentials where tenant_id = $1 order by id', [tenantId]),
    dataKeys: await sql('select * from tenant_data_keys where tenant_id = $1 order by version', [tenantId]),
  };
}

const rotate = (token: string) => client.send(token, ROTATE_DATA_KEY);

test('only tenant admins rotate: MEMBER and AUDITOR get FORBIDDEN and nothing changes', async () => {
  const { tenant, member } = await tenantWithKeys('rotate-roles');
  const auditor = await createMember(gw, tenant.adminToken, 'AUDITOR');
  const before = await snapshot(tenant.tenantId);
  expect(errorCode(await rotate(member.token))).toBe('FORBIDDEN');
  expect(errorCode(await rotate(auditor.token))).toBe('FORBIDDEN');
  expect(await snapshot(tenant.tenantId)).toEqual(before);
});

test('rotateDataKey bumps the version; every credential follows it and still opens to the same key', async () => {
  const { tenant, keys } = await tenantWithKeys('rotate');
  const before = await credentialRows(testDatabaseUrl(), tenant.tenantId);
  expect(before.map((row) => row.data_key_version)).toEqual(before.map(() => 1));

  const res = await rotate(tenant.adminToken);
  expect(res.errors).toBeUndefined();
  expect(res.data!.rotateDataKey).toEqual({ id: tenant.tenantId, dataKeyVersion: 2, keyring: 'local' });
  expect((await client.ok(tenant.adminToken, TENANT)).tenant.dataKeyVersion).toBe(2);

  // Through the API, in the database, and in each ciphertext's own header.
  const listed = await client.credentials(tenant.adminToken);
  expect(listed).toHaveLength(keys.length); // an admin lists the tenant's keys and every member's personal keys
  expect(listed.map((credential) => credential.dataKeyVersion)).toEqual(listed.map(() => 2));
  const after = await credentialRows(testDatabaseUrl(), tenant.tenantId);
  expect(after.map((row) => row.id)).toEqual(before.map((row) => row.id));
  after.forEach((row, i) => {
    expect(row.data_key_version).toBe(2);
    expect(row.ciphertext.readUInt32BE(1)).toBe(2);
    expect(row.ciphertext.equals(before[i].ciphertext)).toBe(false);
    expect(row.last4).toBe(before[i].last4);
  });
  const dataKeys = await dataKeyRows(testDatabaseUrl(), tenant.tenantId);
  expect(dataKeys.map((row) => [row.version, row.retired_at !== null])).toEqual([
    [1, true],
    [2, false],
  ]);

  // Same plaintext, now under v2, also when the data key has to be unwrapped from the database again.
  gw.gateway.services.dataKeys.forgetCached(tenant.tenantId);
  for (const stored of keys) {
    expect(await resolveStored(stored)).toMatchObject({ apiKey: stored.key, dataKeyVersion: 2 });
  }

  // A second rotation goes on to v3; both older versions are retired.
  expect((await rotate(tenant.adminToken)).data!.rotateDataKey.dataKeyVersion).toBe(3);
  expect(
    (await dataKeyRows(testDatabaseUrl(), tenant.tenantId)).map((row) => [row.version, row.retired_at !== null]),
  ).toEqual([
    [1, true],
    [2, true],
    [3, false],
  ]);
  for (const stored of keys)
    expect(await resolveStored(stored)).toMatchObject({ apiKey: stored.key, dataKeyVersion: 3 });
});

test('a ciphertext from before the rotation, put back into its row, no longer opens', async () => {
  const { tenant, keys } = await tenantWithKeys('rotate-replay');
  const [old] = await credentialRows(testDatabaseUrl(), tenant.tenantId);
  await rotate(tenant.adminToken);
  await sql('update credentials set ciphertext = $2 where id = $1', [old.id, old.ciphertext]);
  const failures = await Promise.all(
    keys.map((stored) =>
      resolveStored(stored).then(
        () => null,
        (error) => error.code,
      ),
    ),
  );
  expect(failures.filter((code) => code === 'KEY_UNAVAILABLE')).toHaveLength(1);
  expect(failures.filter((code) => code !== null && code !== 'KEY_UNAVAILABLE')).toEqual([]);
});

test('200+ concurrent resolves while the key rotates: none fails, each gets its own key', async () => {
  const { tenant, keys } = await tenantWithKeys('rotate-load');
  let rotation: Promise<Awaited<ReturnType<typeof rotate>>> | undefined;
  let rotationDone = false;
  let started = 0;
  let startedAfterRotation = 0;
  const outcomes: Array<{ expected: string; version?: number; apiKey?: string; error?: unknown }> = [];
  // 20 workers resolve continuously: at least 200 resolves, and on until 20 more have started
  // after the rotation finished, so resolves run before, during and after it.
  const worker = async () => {
    while (started < 200 || startedAfterRotation < 20) {
      if (rotationDone) startedAfterRotation++;
      const stored = keys[started++ % keys.length];
      if (started === 40) {
        rotation = rotate(tenant.adminToken);
        void rotation.finally(() => (rotationDone = true));
      }
      try {
        const resolved = await resolveStored(stored);
        outcomes.push({ expected: stored.key, version: resolved.dataKeyVersion ?? undefined, apiKey: resolved.apiKey });
      } catch (error) {
        outcomes.push({ expected: stored.key, error });
      }
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  const rotated = await rotation!;

  expect(rotated.errors).toBeUndefined();
  expect(rotated.data!.rotateDataKey.dataKeyVersion).toBe(2);
  expect(outcomes.length).toBeGreaterThanOrEqual(200);
  expect(outcomes.filter((outcome) => outcome.error !== undefined)).toEqual([]);
  expect(outcomes.filter((outcome) => outcome.apiKey !== outcome.expected)).toEqual([]);
  const versions = new Set(outcomes.map((outcome) => outcome.version));
  expect([...versions].sort()).toEqual([1, 2]);
});

test('a row read before a rotation committed still opens afterwards (older versions stay unwrappable)', async () => {
  const { tenant, keys } = await tenantWithKeys('rotate-inflight');
  const em = gw.gateway.orm.em.fork();
  const loaded = await em.find(CredentialEntity, { tenant: tenant.tenantId });
  expect(loaded.every((row) => row.dataKeyVersion === 1)).toBe(true);

  await rotate(tenant.adminToken);
  gw.gateway.services.dataKeys.forgetCached(tenant.tenantId);

  const opened = await Promise.all(loaded.map((row) => gw.gateway.services.vault.open(em, sealedCredential(row))));
  expect(opened.sort()).toEqual(keys.map((stored) => stored.key).sort());
});

test('setCredential racing a rotation never leaves a key under a retired version', async () => {
  const { tenant } = await tenantWithKeys('rotate-race');
  const members = await Promise.all([0, 1, 2, 3].map(() => createMember(gw, tenant.adminToken, 'MEMBER')));
  const latest = new Map<string, string>();
  const writes = members.flatMap((member) =>
    [Provider.ANTHROPIC, Provider.OPENAI, Provider.LINEAR].map(async (provider, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 5));
      const key = providerKey(provider);
      latest.set(`${member.userId} ${provider}`, key);
      return client.storeCredential(member.token, { provider, scope: 'PERSONAL', apiKey: key });
    }),
  );
  const [rotated] = await Promise.all([rotate(tenant.adminToken), ...writes]);
  expect(rotated.data!.rotateDataKey.dataKeyVersion).toBe(2);

  const rows = await credentialRows(testDatabaseUrl(), tenant.tenantId);
  expect(rows.length).toBe(6 + 12);
  expect(rows.filter((row) => row.data_key_version !== 2)).toEqual([]);
  for (const member of members) {
    for (const provider of [Provider.ANTHROPIC, Provider.OPENAI, Provider.LINEAR]) {
      const resolved = await resolveKey(gw, userOf(tenant, member), provider, KeySource.PERSONAL);
      expect(resolved).toMatchObject({ apiKey: latest.get(`${member.userId} ${provider}`), dataKeyVersion: 2 });
    }
  }
});

describe('a rotation that fails changes nothing', () => {
  test('a credential that does not decrypt aborts it midway: KEY_UNAVAILABLE, every row and the version unchanged', async () => {
    const { tenant, keys } = await tenantWithKeys('rotate-corrupt');
    const rows = await credentialRows(testDatabaseUrl(), tenant.tenantId);
    const victim = rows[Math.floor(rows.length / 2)];
    const corrupted = Buffer.from(victim.ciphertext);
    corrupted[corrupted.length - 1] ^= 0xff;
    await sql('update credentials set ciphertext = $2 where id = $1', [victim.id, corrupted]);
    const before = await snapshot(tenant.tenantId);
    const generatedBefore = keyring.calls.generate;

    const res = await rotate(tenant.adminToken);

    expect(errorCode(res)).toBe('KEY_UNAVAILABLE');
    // It got as far as creating data key v2 before it failed.
    expect(keyring.calls.generate).toBe(generatedBefore + 1);
    expect(await snapshot(tenant.tenantId)).toEqual(before);
    expect(
      gw.logs.parsed().some((line) => line.credentialId === victim.id && String(line.msg).includes('rotation')),
    ).toBe(true);

    // Repaired, the tenant rotates normally to v2 (the failed attempt left no v2 behind).
    await sql('update credentials set ciphertext = $2 where id = $1', [victim.id, victim.ciphertext]);
    expect((await rotate(tenant.adminToken)).data!.rotateDataKey.dataKeyVersion).toBe(2);
    for (const stored of keys)
      expect(await resolveStored(stored)).toMatchObject({ apiKey: stored.key, dataKeyVersion: 2 });
  });

  test('a keyring that fails to generate the new key: KEY_UNAVAILABLE, nothing changed', async () => {
    const { tenant, keys } = await tenantWithKeys('rotate-kr-generate');
    const before = await snapshot(tenant.tenantId);
    keyring.failing.add('generate');
    expect(errorCode(await rotate(tenant.adminToken))).toBe('KEY_UNAVAILABLE');
    expect(await snapshot(tenant.tenantId)).toEqual(before);
    keyring.failing.clear();
    for (const stored of keys)
      expect(await resolveStored(stored)).toMatchObject({ apiKey: stored.key, dataKeyVersion: 1 });
  });

  test('a keyring that fails to unwrap the old key after the new one was made: KEY_UNAVAILABLE, nothing changed', async () => {
    const { tenant, keys } = await tenantWithKeys('rotate-kr-unwrap');
    const before = await snapshot(tenant.tenantId);
    gw.gateway.services.dataKeys.forgetCached(tenant.tenantId);
    const generatedBefore = keyring.calls.generate;
    const unwrapsBefore = keyring.calls.unwrap;
    keyring.failing.add('unwrap');

    expect(errorCode(await rotate(tenant.adminToken))).toBe('KEY_UNAVAILABLE');

    expect(keyring.calls.generate).toBe(generatedBefore + 1);
    expect(keyring.calls.unwrap).toBeGreaterThan(unwrapsBefore);
    expect(await snapshot(tenant.tenantId)).toEqual(before);
    keyring.failing.clear();
    expect((await rotate(tenant.adminToken)).data!.rotateDataKey.dataKeyVersion).toBe(2);
    for (const stored of keys)
      expect(await resolveStored(stored)).toMatchObject({ apiKey: stored.key, dataKeyVersion: 2 });
  });
});
