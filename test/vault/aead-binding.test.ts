import { KeySource } from '../../src/modules/credential/key-source';
import { Provider } from '../../src/modules/credential/provider';
import { createMember, createTenantWithAdmin, type TenantFixture, type UserFixture } from '../support/fixtures';
import { type TestGateway } from '../support/gateway';
import { sql } from '../support/sql';
import {
  adminOf,
  expectKeyUnavailable,
  openCredentialRow,
  providerKey,
  RecordingClient,
  resolveKey,
  startSharedGateway,
  userOf,
  type Actor,
} from '../support/vault-fixtures';

/**
 * Principle 2 and 3: every ciphertext is bound (AEAD associated data) to its row, so a
 * ciphertext moved to another row or tenant, or a row re-labelled around it, fails to open with
 * KEY_UNAVAILABLE, and nothing falls back to another key.
 */

let gw: TestGateway;
let platformKey: string;
let a: TenantFixture;
let b: TenantFixture;
let member: UserFixture;

/** name → stored credential id and its plaintext */
const stored: Record<
  'aTenantAnthropic' | 'aTenantOpenai' | 'aPersonalAnthropic' | 'bTenantAnthropic',
  { id: string; key: string }
> = {} as never;
/** Original row values, restored after each test. */
const originals = new Map<
  string,
  { ciphertext: Buffer; owner_id: string | null; data_key_version: number; provider: string; scope: string }
>();

beforeAll(async () => {
  platformKey = providerKey(Provider.ANTHROPIC);
  // These tests rewrite credential rows behind the gateway's back, as someone with database access
  // could; with no per-process cache the next request reads what they wrote.
  gw = await startSharedGateway({ env: { ANTHROPIC_API_KEY: platformKey, KEYWARD_CACHE_TTL_SECONDS: '0' } });
  const client = new RecordingClient(gw);
  a = await createTenantWithAdmin(gw, 'aead-a');
  b = await createTenantWithAdmin(gw, 'aead-b');
  member = await createMember(gw, a.adminToken, 'MEMBER');
  const store = async (token: string, provider: 'ANTHROPIC' | 'OPENAI', scope: 'TENANT' | 'PERSONAL') => {
    const key = providerKey(Provider[provider]);
    const { id } = await client.storeCredential(token, { provider, scope, apiKey: key });
    return { id, key };
  };
  stored.aTenantAnthropic = await store(a.adminToken, 'ANTHROPIC', 'TENANT');
  stored.aTenantOpenai = await store(a.adminToken, 'OPENAI', 'TENANT');
  stored.aPersonalAnthropic = await store(member.token, 'ANTHROPIC', 'PERSONAL');
  stored.bTenantAnthropic = await store(b.adminToken, 'ANTHROPIC', 'TENANT');
  for (const row of await sql(
    'select id, ciphertext, owner_id, data_key_version, provider, scope from credentials where tenant_id = any($1)',
    [[a.tenantId, b.tenantId]],
  )) {
    originals.set(row.id, row as never);
  }
  expect(originals.size).toBe(4);
});

afterEach(async () => {
  for (const [id, row] of originals) {
    await sql(
      'update credentials set ciphertext = $2, owner_id = $3, data_key_version = $4, provider = $5, scope = $6 where id = $1',
      [id, row.ciphertext, row.owner_id, row.data_key_version, row.provider, row.scope],
    );
  }
});

afterAll(() => gw?.stop());

const ciphertextOf = (id: string) => originals.get(id)!.ciphertext;
const setCiphertext = (id: string, ciphertext: Buffer) =>
  sql('update credentials set ciphertext = $2 where id = $1', [id, ciphertext]);

async function swap(first: { id: string }, second: { id: string }): Promise<void> {
  await setCiphertext(first.id, ciphertextOf(second.id));
  await setCiphertext(second.id, ciphertextOf(first.id));
}

const decryptFailuresLogged = (credentialId: string) =>
  gw.logs.parsed().filter((line) => line.msg === 'credential failed to decrypt' && line.credentialId === credentialId);

const aAdmin = (): Actor => adminOf(a);
const bAdmin = (): Actor => adminOf(b);
const aMember = (): Actor => userOf(a, member);

test('every credential opens to its own key while untouched (the control for every test below)', async () => {
  for (const { id, key } of Object.values(stored)) expect(await openCredentialRow(gw, id)).toBe(key);
  expect((await resolveKey(gw, aMember(), Provider.ANTHROPIC, KeySource.AUTO)).apiKey).toBe(
    stored.aPersonalAnthropic.key,
  );
  expect((await resolveKey(gw, bAdmin(), Provider.ANTHROPIC, KeySource.TENANT)).apiKey).toBe(
    stored.bTenantAnthropic.key,
  );
});

test('ciphertexts swapped between two tenant keys of one tenant open for neither', async () => {
  await swap(stored.aTenantAnthropic, stored.aTenantOpenai);
  const logsBefore = decryptFailuresLogged(stored.aTenantAnthropic.id).length;

  await expectKeyUnavailable(openCredentialRow(gw, stored.aTenantAnthropic.id));
  await expectKeyUnavailable(openCredentialRow(gw, stored.aTenantOpenai.id));
  await expectKeyUnavailable(resolveKey(gw, aAdmin(), Provider.ANTHROPIC, KeySource.TENANT));
  await expectKeyUnavailable(resolveKey(gw, aAdmin(), Provider.OPENAI, KeySource.TENANT));

  const logged = decryptFailuresLogged(stored.aTenantAnthropic.id);
  expect(logged.length).toBeGreaterThan(logsBefore);
  expect(logged.at(-1)).toMatchObject({ tenantId: a.tenantId, reason: 'authentication-failed' });
});

test("a ciphertext swapped between a member's personal key and the tenant key of the same provider opens for neither", async () => {
  await swap(stored.aPersonalAnthropic, stored.aTenantAnthropic);
  await expectKeyUnavailable(openCredentialRow(gw, stored.aPersonalAnthropic.id));
  await expectKeyUnavailable(openCredentialRow(gw, stored.aTenantAnthropic.id));
  await expectKeyUnavailable(resolveKey(gw, aMember(), Provider.ANTHROPIC, KeySource.PERSONAL));
  await expectKeyUnavailable(resolveKey(gw, aMember(), Provider.ANTHROPIC, KeySource.TENANT));
});

test('ciphertexts swapped across tenants open in neither tenant', async () => {
  await swap(stored.aTenantAnthropic, stored.bTenantAnthropic);
  await expectKeyUnavailable(openCredentialRow(gw, stored.aTenantAnthropic.id));
  await expectKeyUnavailable(openCredentialRow(gw, stored.bTenantAnthropic.id));
  await expectKeyUnavailable(resolveKey(gw, aAdmin(), Provider.ANTHROPIC, KeySource.TENANT));
  await expectKeyUnavailable(resolveKey(gw, bAdmin(), Provider.ANTHROPIC, KeySource.TENANT));
  // Tenant A's other credential is unaffected.
  expect(await openCredentialRow(gw, stored.aTenantOpenai.id)).toBe(stored.aTenantOpenai.key);
});

test('a personal credential re-assigned to another user (owner_id changed by SQL) does not open for them', async () => {
  await sql('update credentials set owner_id = $2 where id = $1', [stored.aPersonalAnthropic.id, a.adminId]);
  await expectKeyUnavailable(resolveKey(gw, aAdmin(), Provider.ANTHROPIC, KeySource.PERSONAL));
  await expectKeyUnavailable(openCredentialRow(gw, stored.aPersonalAnthropic.id));
});

test('a row re-labelled to another provider, to the other scope, or to another data-key version does not open', async () => {
  const id = stored.aTenantOpenai.id;
  await sql("update credentials set provider = 'LINEAR' where id = $1", [id]);
  await expectKeyUnavailable(openCredentialRow(gw, id));
  await expectKeyUnavailable(resolveKey(gw, aAdmin(), Provider.LINEAR, KeySource.AUTO));

  await sql("update credentials set provider = 'OPENAI', scope = 'PERSONAL', owner_id = $2 where id = $1", [
    id,
    a.adminId,
  ]);
  await expectKeyUnavailable(openCredentialRow(gw, id));

  await sql("update credentials set scope = 'TENANT', owner_id = null, data_key_version = 2 where id = $1", [id]);
  await expectKeyUnavailable(openCredentialRow(gw, id));
});

test('an old ciphertext of the same slot, put into the credential that replaced it after a delete, does not open', async () => {
  // Same tenant, provider, scope, owner and data-key version: only the credential id differs.
  const client = new RecordingClient(gw);
  const oldKey = providerKey(Provider.LINEAR);
  const old = await client.storeCredential(member.token, { provider: 'LINEAR', scope: 'PERSONAL', apiKey: oldKey });
  const [{ ciphertext: oldCiphertext }] = await sql<{ ciphertext: Buffer }>(
    'select ciphertext from credentials where id = $1',
    [old.id],
  );
  await client.ok(member.token, 'mutation ($id: ID!) { deleteCredential(id: $id) }', { id: old.id });
  const newKey = providerKey(Provider.LINEAR);
  const replacement = await client.storeCredential(member.token, {
    provider: 'LINEAR',
    scope: 'PERSONAL',
    apiKey: newKey,
  });
  expect(replacement.id).not.toBe(old.id);
  expect(replacement.dataKeyVersion).toBe(old.dataKeyVersion);

  await setCiphertext(replacement.id, oldCiphertext);
  try {
    await expectKeyUnavailable(resolveKey(gw, aMember(), Provider.LINEAR, KeySource.AUTO));
  } finally {
    await client.ok(member.token, 'mutation ($id: ID!) { deleteCredential(id: $id) }', { id: replacement.id });
  }
});

test.each([
  ['one flipped bit in the encrypted key', (blob: Buffer) => flip(blob, blob.length - 1)],
  ['one flipped bit in the tag', (blob: Buffer) => flip(blob, 20)],
  ['one flipped bit in the IV', (blob: Buffer) => flip(blob, 6)],
  ['another data-key version in the header', (blob: Buffer) => Object.assign(Buffer.from(blob), { 4: blob[4] + 1 })],
  ['an unknown format byte', (blob: Buffer) => Object.assign(Buffer.from(blob), { 0: 0x02 })],
  ['a truncated blob', (blob: Buffer) => blob.subarray(0, 20)],
  ['an empty blob', () => Buffer.alloc(0)],
])('%s → KEY_UNAVAILABLE', async (_case, tamper) => {
  const { id } = stored.aTenantOpenai;
  await setCiphertext(id, tamper(ciphertextOf(id)));
  await expectKeyUnavailable(openCredentialRow(gw, id));
  await expectKeyUnavailable(resolveKey(gw, aAdmin(), Provider.OPENAI, KeySource.AUTO));
});

function flip(blob: Buffer, index: number): Buffer {
  const copy = Buffer.from(blob);
  copy[index] ^= 0x01;
  return copy;
}

describe('fail closed: nothing falls back to another key', () => {
  const lastUsed = async (id: string) =>
    (
      await sql<{ last_used_at: Date | null }>('select last_used_at from credentials where id = $1', [id])
    )[0].last_used_at?.getTime() ?? null;

  test('AUTO with a broken personal key and a healthy tenant key → KEY_UNAVAILABLE, not the tenant key', async () => {
    await swap(stored.aPersonalAnthropic, stored.aTenantOpenai);
    const tenantKeyUsedBefore = await lastUsed(stored.aTenantAnthropic.id);

    await expectKeyUnavailable(resolveKey(gw, aMember(), Provider.ANTHROPIC, KeySource.AUTO));

    // The tenant key was not touched by that request...
    expect(await lastUsed(stored.aTenantAnthropic.id)).toBe(tenantKeyUsedBefore);
    // ...although it is healthy and is served when asked for explicitly.
    const explicit = await resolveKey(gw, aMember(), Provider.ANTHROPIC, KeySource.TENANT);
    expect(explicit).toMatchObject({ source: 'TENANT', apiKey: stored.aTenantAnthropic.key });
  });

  test('AUTO with broken personal and tenant keys → KEY_UNAVAILABLE, not the platform key', async () => {
    await swap(stored.aPersonalAnthropic, stored.aTenantAnthropic);
    await expectKeyUnavailable(resolveKey(gw, aMember(), Provider.ANTHROPIC, KeySource.AUTO));
    await expectKeyUnavailable(resolveKey(gw, aAdmin(), Provider.ANTHROPIC, KeySource.AUTO));
    // The platform key exists and is allowed: it is only used when asked for, or when no key is stored.
    expect(await resolveKey(gw, aMember(), Provider.ANTHROPIC, KeySource.PLATFORM)).toMatchObject({
      source: 'PLATFORM',
      apiKey: platformKey,
    });
    expect(await resolveKey(gw, aMember(), Provider.OPENROUTER, KeySource.AUTO).catch((error) => error.code)).toBe(
      'NO_CREDENTIAL',
    );
  });
});

test('after the rows are restored, every credential opens to its own key again', async () => {
  for (const { id, key } of Object.values(stored)) expect(await openCredentialRow(gw, id)).toBe(key);
  // No plaintext reached the logs while decryption was failing.
  const logged = gw.logs.text;
  expect(Object.values(stored).filter(({ key }) => logged.includes(key))).toEqual([]);
});
