import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { ME, VERIFY_AUDIT_LOG } from '../support/documents';
import { chat, chatTenant, eventualUsageRow, uniqueText } from '../support/chat-harness';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { failCode, ok } from '../support/graphql-client';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { sql, testDatabaseUrl } from '../support/sql';
import { onServerWithBackends } from '../support/postgres-cluster';

/**
 * LISTEN/NOTIFY needs a connection that keeps one PostgreSQL backend. Through a real PgBouncer in
 * transaction mode the gateway must notice, say so (log, /readyz, metric) and serve uncached;
 * through PgBouncer in session mode it must not raise a false alarm.
 */

jest.setTimeout(60_000);

// PgBouncer, LISTEN on a session of its own, a backend to terminate: not on the embedded database.
const server = onServerWithBackends();

const POOLER_ERROR = /connection pooler in transaction or statement mode/;

let transactionPool: PgBouncer;
let sessionPool: PgBouncer;
let viaTransactionPool: TestGateway;
let viaSessionPool: TestGateway;
let anthropic: AnthropicServer;

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  transactionPool = await startPgBouncer(testDatabaseUrl(), 'transaction');
  sessionPool = await startPgBouncer(testDatabaseUrl(), 'session');
  viaTransactionPool = await startTestGateway({
    env: { DATABASE_URL: transactionPool.url, ANTHROPIC_BASE_URL: anthropic.baseURL },
  });
  viaSessionPool = await startTestGateway({ env: { DATABASE_URL: sessionPool.url } });
});

afterAll(async () => {
  await viaTransactionPool?.stop();
  await viaSessionPool?.stop();
  await transactionPool?.stop();
  await sessionPool?.stop();
  await anthropic?.close();
});
// Last: the gateways and poolers above are gone before their server stops.
afterAll(() => server.stop());

async function readiness(gw: TestGateway): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(new URL('/readyz', gw.url));
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function metric(gw: TestGateway, name: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', gw.url))).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  if (!line) throw new Error(`${name} is not in /metrics`);
  return Number(line.split(' ')[1]);
}

test('behind PgBouncer in transaction mode: one clear error, reported by /readyz and /metrics, caches off', async () => {
  const errors = viaTransactionPool.logs.lines.filter((line) => POOLER_ERROR.test(line));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toContain('"level":50');

  // Still ready: uncached serving is correct, only slower.
  expect(await readiness(viaTransactionPool)).toEqual({
    status: 200,
    body: { status: 'ready', cacheInvalidation: 'pooled-transaction-mode' },
  });
  expect(await metric(viaTransactionPool, 'keyward_database_pooled_transaction_mode')).toBe(1);
  expect(await metric(viaTransactionPool, 'keyward_cache_invalidation_listening')).toBe(0);
  expect(viaTransactionPool.gateway.services.caches.cachesUsable).toBe(false);

  // Nothing is cached: a token revoked behind the gateway's back (no notification) is refused at once.
  const tenant = await chatTenant(viaTransactionPool);
  expect((await ok(viaTransactionPool, tenant.member.token, ME)).me.id).toBe(tenant.member.userId);
  await sql('update api_tokens set revoked_at = now() where id = $1', [tenant.member.tokenId]);
  expect(await failCode(viaTransactionPool, tenant.member.token, ME)).toBe('UNAUTHENTICATED');
});

test('behind PgBouncer in transaction mode, chats are recorded whole (named statements give way to unnamed ones)', async () => {
  // Named prepared statements belong to one server session, which this pooler does not keep.
  const tenant = await chatTenant(viaTransactionPool);
  await storeAnthropicKey(viaTransactionPool, tenant.member.token, 'PERSONAL', anthropicKey());
  const one = () =>
    chat(viaTransactionPool, tenant.member.token, { message: uniqueText('pooled'), keySource: 'PERSONAL' });
  const runs = [await one(), await one(), ...(await Promise.all(Array.from({ length: 8 }, one))), await one()];
  for (const run of runs) {
    expect(run.completed).toBeDefined();
    expect((await eventualUsageRow(run.started!.requestId)).status).toBe('completed');
  }
  const uses = await sql<{ request_id: string }>(
    "select request_id from audit_events where chain = $1 and action = 'credential.use'",
    [tenant.tenantId],
  );
  expect(uses.map((row) => row.request_id).sort()).toEqual(runs.map((run) => run.started!.requestId).sort());
  expect((await ok(viaTransactionPool, tenant.adminToken, VERIFY_AUDIT_LOG)).verifyAuditLog.ok).toBe(true);
});

test('behind PgBouncer in session mode: listening, caches on, no pooler error', async () => {
  expect(viaSessionPool.logs.lines.some((line) => POOLER_ERROR.test(line))).toBe(false);
  expect(await readiness(viaSessionPool)).toEqual({
    status: 200,
    body: { status: 'ready', cacheInvalidation: 'listening' },
  });
  expect(await metric(viaSessionPool, 'keyward_database_pooled_transaction_mode')).toBe(0);
  expect(await metric(viaSessionPool, 'keyward_cache_invalidation_listening')).toBe(1);
  expect(viaSessionPool.gateway.services.caches.cachesUsable).toBe(true);
});

test('when the listening connection reconnects through a pooler now in transaction mode, it is detected then', async () => {
  let pool = await startPgBouncer(testDatabaseUrl(), 'session');
  const gw = await startTestGateway({ env: { DATABASE_URL: pool.url } });
  try {
    expect(gw.gateway.services.caches.channelState).toBe('listening');

    // The operator switches the pooler to transaction mode: every connection through it drops.
    await pool.stop();
    pool = await startPgBouncer(testDatabaseUrl(), 'transaction', pool.port);
    await waitFor(() => gw.gateway.services.caches.channelState === 'pooled-transaction-mode');

    expect(gw.logs.lines.filter((line) => POOLER_ERROR.test(line))).toHaveLength(1);
    expect((await readiness(gw)).body).toEqual({ status: 'ready', cacheInvalidation: 'pooled-transaction-mode' });
    expect(gw.gateway.services.caches.cachesUsable).toBe(false);
  } finally {
    await gw.stop();
    await pool.stop();
  }
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
