import type { Client as WsClient } from 'graphql-ws';
import { Provider } from '../../src/modules/credential/provider';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { allAuditEvents } from '../support/audit-helpers';
import { chatClient, completedChat, runChat } from '../support/chat-harness';
import { SET_CREDENTIAL, UPDATE_POLICY } from '../support/documents';
import { createMember, createTenantWithAdmin, type UserFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { errorCode, ok } from '../support/graphql-client';
import { sql } from '../support/sql';
import { providerKey } from '../support/vault-fixtures';

/**
 * requestsPerMinute is per user and shared by every gateway process: two gateways on one
 * database count one user's chats together, and the request over the limit is RATE_LIMITED
 * (with retryAfterSeconds) whichever instance it reaches; another user keeps their own count.
 */

let anthropic: AnthropicServer;
let gwA: TestGateway;
let gwB: TestGateway;
const sockets: WsClient[] = [];

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  const env = { ANTHROPIC_BASE_URL: anthropic.baseURL };
  gwA = await startTestGateway({ env });
  gwB = await startTestGateway({ env });
}, 60_000);

afterAll(async () => {
  await Promise.all(sockets.map(async (socket) => socket.dispose()));
  await gwA?.stop();
  await gwB?.stop();
  await anthropic?.close();
});

/** One socket per (gateway, user). */
function clientsOf(user: UserFixture): { A: WsClient; B: WsClient } {
  const clients = { A: chatClient(gwA, user.token), B: chatClient(gwB, user.token) };
  sockets.push(clients.A, clients.B);
  return clients;
}

async function limitedTenant(requestsPerMinute: number) {
  // Created through A, configured through B: both instances see one database.
  const tenant = await createTenantWithAdmin(gwA, 'rate-limit');
  await ok(gwB, tenant.adminToken, SET_CREDENTIAL, {
    input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: providerKey(Provider.ANTHROPIC), validate: false },
  });
  const policy = await ok(gwB, tenant.adminToken, UPDATE_POLICY, { input: { requestsPerMinute } });
  expect(policy.updateTenantPolicy.policy.requestsPerMinute).toBe(requestsPerMinute);
  const alice = await createMember(gwA, tenant.adminToken, 'MEMBER');
  const bob = await createMember(gwB, tenant.adminToken, 'MEMBER');
  return { tenant, alice, bob };
}

const chat = (i: number) => ({ message: `rate limited chat ${i}`, model: 'claude-haiku-4-5' });

async function expectRateLimited(client: WsClient, i: number): Promise<number> {
  const run = await runChat(client, chat(i));
  expect(errorCode(run)).toBe('RATE_LIMITED');
  expect(run.events).toEqual([]);
  const retryAfter = run.errors![0].extensions?.retryAfterSeconds as number;
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  return retryAfter;
}

test.each([
  ['A, B, A, then B', ['A', 'B', 'A', 'B']],
  ['B, A, B, then A', ['B', 'A', 'B', 'A']],
] as const)(
  '3 per minute across two gateways (%s): the 4th is RATE_LIMITED; another user is unaffected',
  async (_order, order) => {
    const { tenant, alice, bob } = await limitedTenant(3);
    const aliceOn = clientsOf(alice);
    const bobOn = clientsOf(bob);

    for (const [i, instance] of order.slice(0, 3).entries()) await completedChat(aliceOn[instance], chat(i));
    await expectRateLimited(aliceOn[order[3]], 3);
    // Still limited on the other instance too.
    await expectRateLimited(aliceOn[order[2]], 4);

    // Bob has his own three, on either instance, and a fourth is refused for him as well.
    for (const [i, instance] of (['B', 'A', 'B'] as const).entries())
      await completedChat(bobOn[instance], chat(10 + i));
    await expectRateLimited(bobOn.A, 13);

    // One shared counter per user, in PostgreSQL.
    const counters = await sql<{ key: string; points: number }>(
      'select key, points from rate_limits where key = any($1) order by key',
      [[`rpm:${alice.userId}`, `rpm:${bob.userId}`]],
    );
    expect(Object.fromEntries(counters.map((row) => [row.key, Number(row.points)]))).toEqual({
      [`rpm:${alice.userId}`]: 5,
      [`rpm:${bob.userId}`]: 4,
    });

    // Only the admitted chats were served: three each.
    const uses = await allAuditEvents(gwB, tenant.adminToken, { action: 'credential.use' });
    expect(uses.filter((event) => event.actorId === alice.userId)).toHaveLength(3);
    expect(uses.filter((event) => event.actorId === bob.userId)).toHaveLength(3);
    const rows = await sql('select user_id from usage_records where tenant_id = $1', [tenant.tenantId]);
    expect(rows.filter((row) => row.user_id === alice.userId)).toHaveLength(3);
    expect(rows.filter((row) => row.user_id === bob.userId)).toHaveLength(3);
  },
  60_000,
);

test('without requestsPerMinute there is no limit', async () => {
  const tenant = await createTenantWithAdmin(gwA, 'rate-unlimited');
  await ok(gwA, tenant.adminToken, SET_CREDENTIAL, {
    input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: providerKey(Provider.ANTHROPIC), validate: false },
  });
  const on = { A: chatClient(gwA, tenant.adminToken), B: chatClient(gwB, tenant.adminToken) };
  sockets.push(on.A, on.B);
  for (let i = 0; i < 6; i++) await completedChat(i % 2 ? on.A : on.B, chat(i));
}, 60_000);
