import { hashBearerToken } from '../../src/auth/bearer-token';
import { ensureCliBuilt, runKeyward } from '../support/audit-cli';
import { allAuditEvents } from '../support/audit-helpers';
import { ok } from '../support/graphql-client';
import { startSharedGateway, type TestGateway } from '../support/gateway';
import { sql } from '../support/sql';

/**
 * `keyward admin-token` (README quick start): a new PLATFORM_ADMIN token on the configured
 * database, printed once on stdout, audited as token.issue on the platform tenant's chain.
 */

let gw: TestGateway;

beforeAll(async () => {
  gw = await startSharedGateway();
  await ensureCliBuilt();
}, 240_000);

afterAll(() => gw?.stop());

test('admin-token prints a token that authenticates as PLATFORM_ADMIN, and the issue is audited', async () => {
  const result = await runKeyward(['admin-token']);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^kw_[A-Za-z0-9_-]{20,}\n$/);
  expect(result.stderr).toContain('New PLATFORM_ADMIN token for');
  const token = result.stdout.trim();
  expect(result.stderr).not.toContain(token);

  const me = (await ok(gw, token, '{ me { id role tenant { id } } }')).me;
  expect(me.role).toBe('PLATFORM_ADMIN');

  const [stored] = await sql<{ id: string; user_id: string; name: string }>(
    'select id, user_id, name from api_tokens where token_hash = $1',
    [hashBearerToken(token)],
  );
  expect(stored).toMatchObject({ user_id: me.id, name: 'admin-token (command line)' });

  const events = await allAuditEvents(gw, token, { action: 'token.issue', targetId: stored.id });
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({
    tenantId: me.tenant.id,
    actorId: null,
    targetType: 'api_token',
    outcome: 'SUCCESS',
  });
  expect(JSON.parse(events[0].detail!)).toEqual({ userId: me.id, via: 'cli' });

  const second = await runKeyward(['admin-token']);
  expect(second.code).toBe(0);
  expect(second.stdout.trim()).not.toBe(token);
  expect((await ok(gw, token, '{ me { role } }')).me.role).toBe('PLATFORM_ADMIN');
}, 120_000);
