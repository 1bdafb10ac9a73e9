import type { Client as WsClient } from 'graphql-ws';
import { Provider } from '../../src/modules/credential/provider';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { sleep } from '../support/audit-helpers';
import { catalogPrice, chatClient, runChat, type ChatRun } from '../support/chat-harness';
import { SET_CREDENTIAL, UPDATE_POLICY } from '../support/documents';
import { errorCode, ok } from '../support/graphql-client';
import { sql } from '../support/sql';
import { createMember, createTenantWithAdmin, type TenantFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { providerKey } from '../support/vault-fixtures';

/**
 * The budget reservation is a true upper bound whatever the script (issue 11: with CJK text,
 * about one token per character, eight concurrent chats spent $0.045 against a $0.02 budget),
 * and it is corrected from the provider's own input count at message_start: shrunk, which makes
 * room for other chats, or, when the budget cannot cover the real worst case, the chat is stopped
 * with ChatFailed BUDGET_EXCEEDED.
 */

const MODEL = 'claude-haiku-4-5';
const price = catalogPrice(MODEL);
const costOf = (inputTokens: number, outputTokens: number): number =>
  (inputTokens * price.input + outputTokens * price.output) / 1_000_000;
/** The gateway's framing allowance (src/limits/worst-case-input.ts) for a one-message request. */
const FRAMING = 16 * 2;

let anthropic: AnthropicServer;
let gw: TestGateway;
const sockets: WsClient[] = [];

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  gw = await startTestGateway({ env: { ANTHROPIC_BASE_URL: anthropic.baseURL } });
}, 60_000);

afterAll(async () => {
  await Promise.all(sockets.map(async (socket) => socket.dispose()));
  await gw?.stop();
  await anthropic?.close();
});

async function budgetTenant(
  monthlyBudgetUsd: number,
  users: number,
): Promise<{ tenant: TenantFixture; clients: WsClient[] }> {
  const tenant = await createTenantWithAdmin(gw, 'budget-dense');
  await ok(gw, tenant.adminToken, SET_CREDENTIAL, {
    input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: providerKey(Provider.ANTHROPIC), validate: false },
  });
  await ok(gw, tenant.adminToken, UPDATE_POLICY, { input: { monthlyBudgetUsd } });
  const tokens = [tenant.adminToken];
  while (tokens.length < users) tokens.push((await createMember(gw, tenant.adminToken, 'MEMBER')).token);
  const clients = tokens.map((token) => chatClient(gw, token));
  sockets.push(...clients);
  return { tenant, clients };
}

const spent = async (tenantId: string): Promise<number> =>
  Number(
    (await sql('select coalesce(sum(cost_usd), 0) as spent from usage_records where tenant_id = $1', [tenantId]))[0]
      .spent,
  );

const reservationAmounts = async (tenantId: string): Promise<number[]> =>
  (
    await sql<{ amount_usd: number }>('select amount_usd from budget_reservations where tenant_id = $1', [tenantId])
  ).map((row) => row.amount_usd);

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not reached within ${timeoutMs} ms; last value ${JSON.stringify(value)}`);
    await sleep(50);
  }
}

test('8 concurrent chats of dense CJK text never spend more than the budget', async () => {
  const cjk = (i: number) => `${'漢字仮名交じり文'.repeat(40)}${i}`; // 320 CJK characters: ~320 tokens, 960 bytes
  const maxTokens = 100;
  const realInput = 320 + 1; // what the local server counts: one per CJK character, one for the digit
  // The old estimate (characters / 3 plus framing) thought each chat cost at most this; the budget
  // lets all 8 in by that estimate, while together they really cost far more.
  const oldEstimate = costOf(Math.ceil(321 / 3) + FRAMING, maxTokens);
  const budget = 8 * oldEstimate * 1.0001;
  expect(8 * costOf(realInput, maxTokens)).toBeGreaterThan(budget);

  const { tenant, clients } = await budgetTenant(budget, 8);
  anthropic.setBehaviour({ kind: 'stream', tokens: ['回', '答'], delayMs: 20, outputTokens: maxTokens });
  try {
    const runs: ChatRun[] = await Promise.all(
      clients.map((client, i) => runChat(client, { message: cjk(i), model: MODEL, keySource: 'TENANT', maxTokens })),
    );
    const admitted = runs.filter((run) => !run.errors);
    for (const run of runs.filter((candidate) => candidate.errors)) expect(errorCode(run)).toBe('BUDGET_EXCEEDED');
    expect(admitted.length).toBeGreaterThan(0);
    for (const run of admitted)
      expect(run.completed?.usage).toMatchObject({ inputTokens: realInput, outputTokens: maxTokens });

    expect(await spent(tenant.tenantId)).toBeLessThanOrEqual(budget);
    expect(await reservationAmounts(tenant.tenantId)).toEqual([]);
  } finally {
    anthropic.setBehaviour(undefined);
  }
}, 60_000);

test("message_start shrinks a chat's reservation to its real input plus its output allowance, which makes room for another chat", async () => {
  // ASCII text: 4 characters per token really, 1 per byte in the worst case, so the correction is large.
  const long = 'lorem ipsum dolor sit amet '.repeat(150); // 4050 bytes
  const maxTokens = 200;
  const realInput = Math.ceil(long.length / 4);
  const firstEstimate = costOf(long.length + FRAMING, maxTokens);
  const corrected = costOf(realInput, maxTokens);
  const short = 'a short question';
  const secondEstimate = costOf(short.length + FRAMING, maxTokens);
  // Room for the first chat's estimate and a little; the second fits only once the first is corrected.
  const budget = firstEstimate + secondEstimate / 2;
  expect(corrected + secondEstimate).toBeLessThanOrEqual(budget);

  const { tenant, clients } = await budgetTenant(budget, 2);
  anthropic.setBehaviour((request) => {
    const messages = (request.body?.messages ?? []) as Array<{ content: unknown }>;
    const slow = String(messages.at(-1)?.content).startsWith('lorem');
    return {
      kind: 'stream',
      tokens: slow ? Array(40).fill('x ') : ['ok'],
      delayMs: slow ? 100 : 0,
      outputTokens: slow ? maxTokens : 1,
    };
  });
  try {
    const first = runChat(clients[0], { message: long, model: MODEL, keySource: 'TENANT', maxTokens });
    const amounts = await until(
      () => reservationAmounts(tenant.tenantId),
      (rows) => rows.length === 1 && rows[0] < firstEstimate,
    );
    expect(amounts[0]).toBeCloseTo(corrected, 12);

    const second = await runChat(clients[1], { message: short, model: MODEL, keySource: 'TENANT', maxTokens });
    expect(second.errors).toBeUndefined();
    expect(second.completed).toBeDefined();

    expect((await first).completed?.usage).toMatchObject({ inputTokens: realInput, outputTokens: maxTokens });
    expect(await spent(tenant.tenantId)).toBeLessThanOrEqual(budget);
    expect(await reservationAmounts(tenant.tenantId)).toEqual([]);
  } finally {
    anthropic.setBehaviour(undefined);
  }
}, 60_000);

test('when the real input leaves no room for the output allowance, the chat is stopped with ChatFailed BUDGET_EXCEEDED', async () => {
  const maxTokens = 1000;
  const message = 'summarise the attached';
  const estimate = costOf(message.length + FRAMING, maxTokens);
  // The provider counts far more input than the gateway's bound allows for (as it would for
  // content the bound does not cover): the input alone fits the budget, input plus output does not.
  const realInput = 5000;
  const budget = estimate * 1.1;
  expect(costOf(realInput, 10)).toBeLessThan(budget);
  expect(costOf(realInput, maxTokens)).toBeGreaterThan(budget);

  const { tenant, clients } = await budgetTenant(budget, 1);
  anthropic.setBehaviour({
    kind: 'stream',
    tokens: Array(100).fill('y '),
    delayMs: 50,
    inputTokens: realInput,
    outputTokens: maxTokens,
  });
  try {
    const run = await runChat(clients[0], { message, model: MODEL, keySource: 'TENANT', maxTokens });
    expect(run.started).toBeDefined();
    expect(run.failed).toEqual({
      __typename: 'ChatFailed',
      code: 'BUDGET_EXCEEDED',
      message: expect.any(String),
      retryable: false,
    });
    const [row] = await sql<{ status: string; error_code: string; input_tokens: number }>(
      'select status, error_code, input_tokens from usage_records where tenant_id = $1',
      [tenant.tenantId],
    );
    expect(row).toEqual({ status: 'failed', error_code: 'BUDGET_EXCEEDED', input_tokens: realInput });
    expect(await spent(tenant.tenantId)).toBeLessThanOrEqual(budget);
    expect(await reservationAmounts(tenant.tenantId)).toEqual([]);
  } finally {
    anthropic.setBehaviour(undefined);
  }
}, 60_000);
