import { randomUUID } from 'node:crypto';
import { ensureCliBuilt, jsonLines, runKeyward } from '../support/audit-cli';
import { createTenantWithAdmin } from '../support/fixtures';
import { ok } from '../support/graphql-client';
import { startSharedGateway, type TestGateway } from '../support/gateway';

/**
 * `keyward audit verify|export --tenant <id>` names a tenant that exists, or a deleted one whose
 * audit chain remains; an unknown or malformed id is an error (exit 2), never an empty "ok".
 */

let gw: TestGateway;

beforeAll(async () => {
  gw = await startSharedGateway();
  await ensureCliBuilt();
}, 240_000);

afterAll(() => gw?.stop());

test('verify --tenant with an unknown tenant id exits 2 and says so, with nothing on stdout', async () => {
  const unknown = randomUUID();
  const result = await runKeyward(['audit', 'verify', '--tenant', unknown]);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(`no tenant with id ${unknown}`);
}, 60_000);

test('verify --tenant with a malformed id exits 2 and asks for a tenant id', async () => {
  const result = await runKeyward(['audit', 'verify', '--tenant', 'acme']);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain('--tenant must be a tenant id (a UUID)');
}, 60_000);

test('export --tenant with an unknown tenant id exits 2', async () => {
  const result = await runKeyward(['audit', 'export', '--since', '2020-01-01T00:00:00Z', '--tenant', randomUUID()]);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain('no tenant with id');
}, 60_000);

test('verify --tenant still checks a deleted tenant, whose audit chain remains', async () => {
  const tenant = await createTenantWithAdmin(gw, 'audit-cli-deleted');
  const live = await runKeyward(['audit', 'verify', '--tenant', tenant.tenantId]);
  expect({ code: live.code, stderr: live.stderr }).toEqual({ code: 0, stderr: '' });
  expect(jsonLines(live.stdout)).toEqual([expect.objectContaining({ chain: tenant.tenantId, ok: true })]);

  await ok(gw, gw.platformToken, 'mutation ($id: ID!) { deleteTenant(id: $id) }', { id: tenant.tenantId });
  const deleted = await runKeyward(['audit', 'verify', '--tenant', tenant.tenantId]);
  expect({ code: deleted.code, stderr: deleted.stderr }).toEqual({ code: 0, stderr: '' });
  expect(jsonLines(deleted.stdout)).toEqual([expect.objectContaining({ chain: tenant.tenantId, ok: true })]);
}, 120_000);
