import type { Client as WsClient } from 'graphql-ws';
import { Provider } from '../../src/modules/credential/provider';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { allAuditEvents, sleep } from '../support/audit-helpers';
import { chatClient, completedChat, runChat, type ChatRun } from '../support/chat-harness';
import { CHAT, UPDATE_POLICY } from '../support/documents';
import { modelPrices, seed, type TenantFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { errorCode, ok } from '../support/graphql-client';
import { sql } from '../support/sql';
import { providerKey } from '../support/vault-fixtures';

/**
 * Monthly budgets: concurrent chats never together spend more than the budget, because each
 * reserves its worst case under a lock first; refused chats get BUDGET_EXCEEDED before any event;
 * every reservation is released, whatever way the chat ends.
 */

const MODEL = 'claude-haiku-4-5';
const MAX_TOKENS = 1000;
/** Every admitted chat is answered with these counts: close to (but under) its worst case. */
const INPUT_TOKENS = 10;
const OUTPUT_TOKENS = MAX_TOKENS;

let anthropic: AnthropicServer;
let gw: TestGateway;
let haiku: { input: number; output: number };
const sockets: WsClient[] = [];

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  gw = await startTestGateway({ env: { ANTHROPIC_BASE_URL: anthropic.baseURL } });
  haiku = await modelPrices(gw, (await seed(gw).tenant({ prefix: 'budget-prices' })).adminToken, MODEL);
}, 60_000);

afterAll(async () => {
  await Promise.all(sockets.map(async (socket) => socket.dispose()));
  await gw?.stop();
  await anthropic?.close();
});

const costOf = (inputTokens: number, outputTokens: number): number =>
  (inputTokens * haiku.input + outputTokens * haiku.output) / 1_000_000;
/** What an admitted chat of this file really costs. */
const actualCost = (): number => costOf(INPUT_TOKENS, OUTPUT_TOKENS);
/** An upper bound of the gateway's worst-case estimate for these short messages (input over-estimated generously). */
const maxRequestCost = (): number => costOf(200, MAX_TOKENS);

/** A tenant with a budget, a tenant key, and `users` chat users (the admin and members). */
async function budgetTenant(
  monthlyBudgetUsd: number,
  users: number,
): Promise<{ tenant: TenantFixture; clients: WsClient[] }> {
  const tenant = await seed(gw).tenant({ prefix: 'budget' });
  await tenant.tenantKey(providerKey(Provider.ANTHROPIC));
  await tenant.policy({ monthlyBudgetUsd });
  const tokens = [tenant.adminToken];
  while (tokens.length < users) tokens.push((await tenant.member()).token);
  const clients = tokens.map((token) => chatClient(gw, token));
  sockets.push(...clients);
  return { tenant, clients };
}

const spentThisMonth = async (tenantId: string): Promise<number> =>
  Number(
    (
      await sql(
        `select coalesce(sum(cost_usd), 0) as spent from usage_records where tenant_id = $1 and created_at >= date_trunc('month', now() at time zone 'UTC') at time zone 'UTC'`,
        [tenantId],
      )
    )[0].spent,
  );

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Polled while chats run, so it uses the simple query protocol (a literal, checked to be a uuid):
 * the embedded PGlite serves every connection through one queue, and frequent extended-protocol
 * queries from a second client while the gateway is busy can trip over its unnamed statement.
 */
const reservations = async (tenantId: string) => {
  if (!UUID.test(tenantId)) throw new Error(`not a uuid: ${tenantId}`);
  return sql<{ amount_usd: number }>(`select amount_usd from budget_reservations where tenant_id = '${tenantId}'`);
};

const chatInput = (i: number) => ({
  message: `budget chat ${String(i).padStart(2, '0')}`,
  model: MODEL,
  keySource: 'TENANT' as const,
  maxTokens: MAX_TOKENS,
});

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not reached within ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

test('20 concurrent chats never spend more than the budget; the refused ones get BUDGET_EXCEEDED before any event', async () => {
  // Room for 5.5 chats: 5 always fit (even all reserved at once), a 6th never does.
  const budget = 5.5 * actualCost();
  expect(5 * maxRequestCost()).toBeLessThanOrEqual(budget);
  expect(6 * actualCost()).toBeGreaterThan(budget);
  const { tenant, clients } = await budgetTenant(budget, 4);
  anthropic.setBehaviour({
    kind: 'stream',
    tokens: ['a', 'b', 'c', 'd', 'e'],
    delayMs: 30,
    inputTokens: INPUT_TOKENS,
    outputTokens: OUTPUT_TOKENS,
  });
  try {
    const runs: ChatRun[] = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runChat(clients[i % clients.length], chatInput(i))),
    );

    const admitted = runs.filter((run) => !run.errors);
    const refused = runs.filter((run) => run.errors);
    for (const run of admitted) {
      expect(run.events[0].__typename).toBe('ChatStarted');
      expect(run.completed?.usage).toEqual({
        inputTokens: INPUT_TOKENS,
        outputTokens: OUTPUT_TOKENS,
        costUsd: expect.closeTo(actualCost(), 12),
      });
    }
    for (const run of refused) {
      expect(errorCode(run)).toBe('BUDGET_EXCEEDED');
      expect(run.events).toEqual([]);
    }
    expect(admitted).toHaveLength(5);
    expect(refused).toHaveLength(15);

    const spent = await spentThisMonth(tenant.tenantId);
    expect(spent).toBeLessThanOrEqual(budget);
    expect(spent).toBeCloseTo(5 * actualCost(), 12);
    expect(await reservations(tenant.tenantId)).toEqual([]);

    // Exactly the admitted chats reached the provider, left a usage row and a credential.use event.
    const rows = await sql('select status from usage_records where tenant_id = $1', [tenant.tenantId]);
    expect(rows.map((row) => row.status)).toEqual(Array(5).fill('completed'));
    expect(await allAuditEvents(gw, tenant.adminToken, { action: 'credential.use' })).toHaveLength(5);

    // Still no room for one more; raising the budget makes room again.
    expect(errorCode(await runChat(clients[0], chatInput(99)))).toBe('BUDGET_EXCEEDED');
    await ok(gw, tenant.adminToken, UPDATE_POLICY, { input: { monthlyBudgetUsd: budget + 2 * maxRequestCost() } });
    await completedChat(clients[0], chatInput(98));
    expect(await reservations(tenant.tenantId)).toEqual([]);
  } finally {
    anthropic.setBehaviour(undefined);
  }
}, 60_000);

test('chats in flight hold their worst case: a chat is refused while the others are still streaming', async () => {
  const budget = 3.5 * actualCost();
  const { tenant, clients } = await budgetTenant(budget, 3);
  anthropic.setBehaviour({
    kind: 'stream',
    tokens: ['slow', ' reply'],
    delayMs: 1500,
    inputTokens: INPUT_TOKENS,
    outputTokens: OUTPUT_TOKENS,
  });
  try {
    const inFlight = [0, 1, 2].map((i) => runChat(clients[i], chatInput(i)));
    const held = await until(
      () => reservations(tenant.tenantId),
      (rows) => rows.length === 3,
    );
    for (const row of held) {
      expect(row.amount_usd).toBeGreaterThanOrEqual(actualCost());
      expect(row.amount_usd).toBeLessThanOrEqual(maxRequestCost());
    }
    expect(await spentThisMonth(tenant.tenantId)).toBe(0);

    const refused = await runChat(clients[0], chatInput(3));
    expect(errorCode(refused)).toBe('BUDGET_EXCEEDED');
    expect(refused.events).toEqual([]);
    expect(await spentThisMonth(tenant.tenantId)).toBe(0);

    const done = await Promise.all(inFlight);
    expect(done.every((run) => run.completed)).toBe(true);
    expect(await reservations(tenant.tenantId)).toEqual([]);
    expect(await spentThisMonth(tenant.tenantId)).toBeCloseTo(3 * actualCost(), 12);
  } finally {
    anthropic.setBehaviour(undefined);
  }
}, 60_000);

test('a failed or cancelled chat releases its reservation too, and its usage counts', async () => {
  const { tenant, clients } = await budgetTenant(10 * actualCost(), 1);
  const [client] = clients;

  anthropic.enqueue({ kind: 'http-error', status: 400, message: 'bad request' });
  const failed = await runChat(client, chatInput(1));
  expect(failed.failed?.code).toBe('UPSTREAM_BAD_REQUEST');
  expect(await reservations(tenant.tenantId)).toEqual([]);

  anthropic.enqueue({ kind: 'stream', tokens: ['one', ' two', ' three', ' four', ' five', ' six'], delayMs: 300 });
  await new Promise<void>((resolve, reject) => {
    const unsubscribe = client.subscribe<{ chat: { __typename: string } }>(
      { query: CHAT, variables: { input: chatInput(2) } },
      {
        next: (value) => {
          if (value.data?.chat.__typename === 'ChatDelta') {
            unsubscribe();
            resolve();
          }
        },
        error: reject,
        complete: () => resolve(),
      },
    );
  });
  const statuses = await until(
    () => sql(`select status from usage_records where tenant_id = '${tenant.tenantId}' order by created_at`),
    (rows) => rows.length === 2,
  );
  expect(statuses.map((row) => row.status)).toEqual(['failed', 'cancelled']);
  expect(
    await until(
      () => reservations(tenant.tenantId),
      (rows) => rows.length === 0,
    ),
  ).toEqual([]);
});
