import { randomUUID } from 'node:crypto';
import { KeySource } from '../../src/modules/credential/key-source';
import { Provider } from '../../src/modules/credential/provider';
import { DELETE_TENANT, ME, ROTATE_DATA_KEY, TENANT } from '../support/documents';
import { createMember, createTenantWithAdmin } from '../support/fixtures';
import { type TestGateway } from '../support/gateway';
import { errorCode, gql } from '../support/graphql-client';
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
} from '../support/vault-fixtures';

/**
 * deleteTenant crypto-shreds: the tenant's wrapped data keys are destroyed with the rest of its
 * rows, so a copy of its credential rows taken before (a backup) can never be decrypted again.
 */

let gw: TestGateway;
let client: RecordingClient;

beforeAll(async () => {
  gw = await startSharedGateway();
  client = new RecordingClient(gw);
});

afterAll(() => gw?.stop());

const count = async (text: string, params: unknown[]) => Number((await sql<{ n: string }>(text, params))[0].n);

test('only a PLATFORM_ADMIN deletes tenants; unknown ids are NOT_FOUND; the platform tenant cannot be deleted', async () => {
  const tenant = await createTenantWithAdmin(gw, 'shred-roles');
  const member = await createMember(gw, tenant.adminToken, 'MEMBER');
  expect(errorCode(await client.send(tenant.adminToken, DELETE_TENANT, { id: tenant.tenantId }))).toBe('FORBIDDEN');
  expect(errorCode(await client.send(member.token, DELETE_TENANT, { id: tenant.tenantId }))).toBe('FORBIDDEN');
  expect(errorCode(await client.send(gw.platformToken, DELETE_TENANT, { id: randomUUID() }))).toBe('NOT_FOUND');
  const platformTenantId = (await client.ok(gw.platformToken, TENANT)).tenant.id;
  expect(errorCode(await client.send(gw.platformToken, DELETE_TENANT, { id: platformTenantId }))).toBe('FORBIDDEN');
  expect(await count('select count(*) as n from tenant_data_keys where tenant_id = $1', [tenant.tenantId])).toBe(1);
  expect(
    await count('select count(*) as n from tenant_data_keys where tenant_id = $1', [platformTenantId]),
  ).toBeGreaterThanOrEqual(1);
});

test('deleteTenant destroys the data keys and credentials; a backup of the rows restored later cannot be decrypted', async () => {
  const tenant = await createTenantWithAdmin(gw, 'shred');
  const member = await createMember(gw, tenant.adminToken, 'MEMBER');
  const sharedKey = providerKey(Provider.ANTHROPIC);
  const personalKey = providerKey(Provider.GITHUB);
  await client.storeCredential(tenant.adminToken, { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: sharedKey });
  await client.storeCredential(member.token, { provider: 'GITHUB', scope: 'PERSONAL', apiKey: personalKey });
  expect((await client.ok(tenant.adminToken, ROTATE_DATA_KEY)).rotateDataKey.dataKeyVersion).toBe(2);
  const unrelated = await createTenantWithAdmin(gw, 'shred-bystander');
  const bystanderKey = providerKey(Provider.ANTHROPIC);
  await client.storeCredential(unrelated.adminToken, { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: bystanderKey });

  // The "backup": the tenant's rows as they are before deletion.
  const backup = {
    tenants: await sql('select row_to_json(t) as row from tenants t where id = $1', [tenant.tenantId]),
    users: await sql('select row_to_json(u) as row from users u where tenant_id = $1', [tenant.tenantId]),
    credentials: await sql('select row_to_json(c) as row from credentials c where tenant_id = $1', [tenant.tenantId]),
  };
  expect(backup.credentials).toHaveLength(2);
  const credentialIds = backup.credentials.map(({ row }) => row.id as string);
  // Before deletion the backed-up rows decrypt (the control).
  for (const id of credentialIds) expect([sharedKey, personalKey]).toContain(await openCredentialRow(gw, id));
  expect(await count('select count(*) as n from tenant_data_keys where tenant_id = $1', [tenant.tenantId])).toBe(2);

  expect((await client.ok(gw.platformToken, DELETE_TENANT, { id: tenant.tenantId })).deleteTenant).toBe(true);

  for (const table of ['tenant_data_keys', 'credentials', 'users']) {
    expect(await count(`select count(*) as n from ${table} where tenant_id = $1`, [tenant.tenantId])).toBe(0);
  }
  expect(await count('select count(*) as n from tenants where id = $1', [tenant.tenantId])).toBe(0);
  expect(errorCode(await gql(gw.url, ME, undefined, tenant.adminToken))).toBe('UNAUTHENTICATED');
  expect(errorCode(await gql(gw.url, ME, undefined, member.token))).toBe('UNAUTHENTICATED');

  // Restore the backup: tenant, users and credential rows exactly as they were.
  for (const [table, rows] of Object.entries(backup)) {
    for (const { row } of rows)
      await sql(`insert into ${table} select * from json_populate_record(null::${table}, $1::json)`, [row]);
  }
  try {
    expect(await count('select count(*) as n from credentials where tenant_id = $1', [tenant.tenantId])).toBe(2);
    // The cache was wiped by the deletion and no wrapped key is left: nothing can open them.
    for (const id of credentialIds) await expectKeyUnavailable(openCredentialRow(gw, id));
    await expectKeyUnavailable(resolveKey(gw, adminOf(tenant), Provider.ANTHROPIC, KeySource.TENANT));
    await expectKeyUnavailable(resolveKey(gw, userOf(tenant, member), Provider.GITHUB, KeySource.AUTO));
    const em = gw.gateway.orm.em.fork();
    for (const version of [1, 2]) {
      await expectKeyUnavailable(gw.gateway.services.dataKeys.withKey(em, tenant.tenantId, version, () => 'opened'));
    }
    expect(
      gw.logs
        .parsed()
        .some((line) => line.msg?.toString().includes('data key missing') && line.tenantId === tenant.tenantId),
    ).toBe(true);
  } finally {
    await sql('delete from tenants where id = $1', [tenant.tenantId]);
  }

  // Other tenants are untouched.
  expect((await resolveKey(gw, adminOf(unrelated), Provider.ANTHROPIC, KeySource.TENANT)).apiKey).toBe(bystanderKey);
  gw.gateway.services.dataKeys.cache.clear();
  expect((await resolveKey(gw, adminOf(unrelated), Provider.ANTHROPIC, KeySource.TENANT)).apiKey).toBe(bystanderKey);
});
