import type { Client as WsClient } from 'graphql-ws';
import { Provider } from '../../src/modules/credential/provider';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { allAuditEvents, parseDetail } from '../support/audit-helpers';
import { chatClient, completedChat, runChat, type ChatRun } from '../support/chat-harness';
import { CREATE_TENANT, ME, SET_CREDENTIAL, SET_PLATFORM_KEY_LIMIT, TENANT, UPDATE_POLICY } from '../support/documents';
import { modelPrices, seed, SeededTenant, uniqueEmail, uniqueName } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { errorCode, ok, post } from '../support/graphql-client';
import { sql } from '../support/sql';
import { providerKey } from '../support/vault-fixtures';

/**
 * Issue 11, item 7: the operator limits each tenant's use of the platform key (an on/off switch
 * and a monthly USD cap) with setPlatformKeyLimit; the tenant's admins see it and cannot change
 * it. The cap is enforced like the budget: concurrent chats never together overspend it.
 */

const MODEL = 'claude-haiku-4-5';
const MAX_TOKENS = 1000;
const INPUT_TOKENS = 10;
const OUTPUT_TOKENS = MAX_TOKENS;

const PLATFORM_KEY_STATUS = /* GraphQL */ `
  {
    keyStatus(provider: ANTHROPIC) {
      platformKeyAvailable
    }
    models {
      id
      keySources
    }
  }
`;

let anthropic: AnthropicServer;
let gw: TestGateway;
let platformTenantId: string;
let haiku: { input: number; output: number };
const sockets: WsClient[] = [];

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  gw = await startTestGateway({
    env: { ANTHROPIC_BASE_URL: anthropic.baseURL, ANTHROPIC_API_KEY: providerKey(Provider.ANTHROPIC) },
  });
  platformTenantId = (await ok(gw, gw.platformToken, ME)).me.tenant.id;
  haiku = await modelPrices(gw, (await seed(gw).tenant({ prefix: 'platform-cap-prices' })).adminToken, MODEL);
}, 60_000);

afterAll(async () => {
  await Promise.all(sockets.map(async (socket) => socket.dispose()));
  await gw?.stop();
  await anthropic?.close();
});

const costOf = (inputTokens: number, outputTokens: number): number =>
  (inputTokens * haiku.input + outputTokens * haiku.output) / 1_000_000;
const actualCost = (): number => costOf(INPUT_TOKENS, OUTPUT_TOKENS);
/** An upper bound of the gateway's worst-case estimate for these short messages. */
const maxRequestCost = (): number => costOf(200, MAX_TOKENS);

const client = (token: string): WsClient => {
  const socket = chatClient(gw, token);
  sockets.push(socket);
  return socket;
};
const chatInput = (i: number, keySource: 'PLATFORM' | 'AUTO' | 'TENANT' = 'PLATFORM') => ({
  message: `platform cap chat ${String(i).padStart(2, '0')}`,
  model: MODEL,
  keySource,
  maxTokens: MAX_TOKENS,
});
const setLimit = (token: string, tenantId: string, input: Record<string, unknown>) =>
  post(gw, token, SET_PLATFORM_KEY_LIMIT, { tenantId, input });
const limitOf = async (token: string) => (await ok(gw, token, TENANT)).tenant.platformKey;

const platformSpent = async (tenantId: string): Promise<number> =>
  Number(
    (
      await sql(
        `select coalesce(sum(cost_usd), 0) as spent from usage_records where tenant_id = $1 and key_source = 'PLATFORM'`,
        [tenantId],
      )
    )[0].spent,
  );
const heldReservations = async (tenantId: string) =>
  sql<{ amount_usd: number }>(`select amount_usd from platform_spend_reservations where tenant_id = $1`, [tenantId]);
const upstreamCalls = (text: string): number =>
  anthropic.requests.filter((request) => JSON.stringify(request.body ?? {}).includes(text)).length;

describe('who sets the limit', () => {
  let tenant: SeededTenant;
  let memberToken: string;

  beforeAll(async () => {
    tenant = await seed(gw).tenant({ prefix: 'platform-limit-who' });
    memberToken = (await tenant.member()).token;
  });

  test('a new tenant: enabled, no cap, visible to its admin and members', async () => {
    expect(await limitOf(tenant.adminToken)).toEqual({ enabled: true, monthlyCapUsd: null });
    expect(await limitOf(memberToken)).toEqual({ enabled: true, monthlyCapUsd: null });
  });

  test.each([
    ['TENANT_ADMIN', () => tenant.adminToken],
    ['MEMBER', () => memberToken],
  ])('%s → FORBIDDEN (access.denied), nothing changes', async (_role, token) => {
    for (const input of [{ enabled: false }, { monthlyCapUsd: 1000 }, { enabled: true, monthlyCapUsd: null }]) {
      expect(errorCode(await setLimit(token(), tenant.tenantId, input))).toBe('FORBIDDEN');
    }
    expect(await limitOf(tenant.adminToken)).toEqual({ enabled: true, monthlyCapUsd: null });
    const denied = await allAuditEvents(gw, tenant.adminToken, {
      action: 'access.denied',
      targetId: 'Mutation.setPlatformKeyLimit',
    });
    expect(denied.length).toBeGreaterThanOrEqual(3);
  });

  test('a PLATFORM_ADMIN sets it (audited in the platform chain); omitted fields keep their value', async () => {
    const res = await setLimit(gw.platformToken, tenant.tenantId, { enabled: false, monthlyCapUsd: 12.5 });
    expect(res.data?.setPlatformKeyLimit).toEqual({
      id: tenant.tenantId,
      platformKey: { enabled: false, monthlyCapUsd: 12.5 },
    });
    expect(await limitOf(tenant.adminToken)).toEqual({ enabled: false, monthlyCapUsd: 12.5 });
    await setLimit(gw.platformToken, tenant.tenantId, { monthlyCapUsd: null });
    expect(await limitOf(memberToken)).toEqual({ enabled: false, monthlyCapUsd: null });

    const events = await allAuditEvents(gw, gw.platformToken, {
      action: 'platformkey.limit',
      targetId: tenant.tenantId,
    });
    expect(events.map((event) => [event.tenantId, event.outcome, parseDetail(event)])).toEqual([
      [platformTenantId, 'SUCCESS', { monthlyCapUsd: null }],
      [platformTenantId, 'SUCCESS', { enabled: false, monthlyCapUsd: 12.5 }],
    ]);
  });

  test.each([
    [{ monthlyCapUsd: -1 }, 'BAD_USER_INPUT'],
    [{ enabled: null }, 'BAD_USER_INPUT'],
  ])('%j → %s, unchanged', async (input, code) => {
    const before = await limitOf(tenant.adminToken);
    expect(errorCode(await setLimit(gw.platformToken, tenant.tenantId, input))).toBe(code);
    expect(await limitOf(tenant.adminToken)).toEqual(before);
  });

  test('an unknown tenant → NOT_FOUND', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      expect(errorCode(await setLimit(gw.platformToken, id, { enabled: false }))).toBe('NOT_FOUND');
    }
  });

  test('createTenant can set it from the first moment', async () => {
    const input = {
      name: uniqueName('born-capped'),
      adminEmail: uniqueEmail('admin'),
      platformKey: { enabled: false, monthlyCapUsd: 3 },
    };
    const created = (await ok(gw, gw.platformToken, CREATE_TENANT, { input })).createTenant;
    expect(created.tenant.platformKey).toEqual({ enabled: false, monthlyCapUsd: 3 });
    expect(await limitOf(created.token)).toEqual({ enabled: false, monthlyCapUsd: 3 });
    expect(errorCode(await runChat(client(created.token), chatInput(0)))).toBe('PLATFORM_KEY_DISABLED');
  });
});

describe('the switch', () => {
  test('off: PLATFORM is PLATFORM_KEY_DISABLED, AUTO does not fall to it, the tenant admin cannot turn it back on', async () => {
    const tenant = await seed(gw).tenant({ prefix: 'platform-off' });
    const chats = client(tenant.adminToken);
    await completedChat(chats, chatInput(1));
    await ok(gw, gw.platformToken, SET_PLATFORM_KEY_LIMIT, { tenantId: tenant.tenantId, input: { enabled: false } });

    await ok(gw, tenant.adminToken, UPDATE_POLICY, { input: { allowPlatformKey: true } });
    expect((await ok(gw, tenant.adminToken, TENANT)).tenant.policy.allowPlatformKey).toBe(true);
    const text = `refused ${uniqueName('off')}`;
    expect(errorCode(await runChat(chats, { ...chatInput(2), message: text }))).toBe('PLATFORM_KEY_DISABLED');
    expect(errorCode(await runChat(chats, { ...chatInput(3, 'AUTO'), message: text }))).toBe('NO_CREDENTIAL');
    expect(upstreamCalls(text)).toBe(0);
    const status = await ok(gw, tenant.adminToken, PLATFORM_KEY_STATUS);
    expect(status.keyStatus.platformKeyAvailable).toBe(false);
    expect(status.models.find((model: { id: string }) => model.id === MODEL).keySources).toEqual([]);

    // AUTO still serves the tenant's own key.
    await ok(gw, tenant.adminToken, SET_CREDENTIAL, {
      input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: providerKey(Provider.ANTHROPIC), validate: false },
    });
    expect((await completedChat(chats, chatInput(4, 'AUTO'))).started.keySource).toBe('TENANT');

    await ok(gw, gw.platformToken, SET_PLATFORM_KEY_LIMIT, { tenantId: tenant.tenantId, input: { enabled: true } });
    expect((await completedChat(chats, chatInput(5))).started.keySource).toBe('PLATFORM');
  });
});

describe('the monthly cap', () => {
  test('20 concurrent platform chats never spend more than the cap; the refused ones get PLATFORM_BUDGET_EXCEEDED before any event', async () => {
    const cap = 5.5 * actualCost();
    expect(5 * maxRequestCost()).toBeLessThanOrEqual(cap);
    expect(6 * actualCost()).toBeGreaterThan(cap);
    const tenant = await seed(gw).tenant({ prefix: 'platform-cap' });
    await ok(gw, gw.platformToken, SET_PLATFORM_KEY_LIMIT, {
      tenantId: tenant.tenantId,
      input: { monthlyCapUsd: cap },
    });
    const tokens = [tenant.adminToken];
    while (tokens.length < 4) tokens.push((await tenant.member()).token);
    const clients = tokens.map(client);
    anthropic.setBehaviour({
      kind: 'stream',
      tokens: ['a', 'b', 'c'],
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
      for (const run of admitted) expect(run.completed?.usage?.costUsd).toBeCloseTo(actualCost(), 12);
      for (const run of refused) {
        expect(errorCode(run)).toBe('PLATFORM_BUDGET_EXCEEDED');
        expect(run.events).toEqual([]);
      }
      expect(admitted).toHaveLength(5);
      expect(refused).toHaveLength(15);
      expect(await platformSpent(tenant.tenantId)).toBeLessThanOrEqual(cap);
      expect(await heldReservations(tenant.tenantId)).toEqual([]);

      // The tenant's own budget is not the limit here, and its own key is not capped.
      expect(errorCode(await runChat(clients[0], chatInput(30, 'AUTO')))).toBe('PLATFORM_BUDGET_EXCEEDED');
      await ok(gw, tenant.adminToken, SET_CREDENTIAL, {
        input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: providerKey(Provider.ANTHROPIC), validate: false },
      });
      expect((await completedChat(clients[0], chatInput(31, 'AUTO'))).started.keySource).toBe('TENANT');
      expect(errorCode(await runChat(clients[0], chatInput(32)))).toBe('PLATFORM_BUDGET_EXCEEDED');

      // Raising the cap makes room again.
      await ok(gw, gw.platformToken, SET_PLATFORM_KEY_LIMIT, {
        tenantId: tenant.tenantId,
        input: { monthlyCapUsd: cap + 2 * maxRequestCost() },
      });
      await completedChat(clients[1], chatInput(33));
      expect(await heldReservations(tenant.tenantId)).toEqual([]);
    } finally {
      anthropic.setBehaviour(undefined);
    }
  }, 60_000);

  test('a failed platform chat releases its reservation too', async () => {
    const tenant = await seed(gw).tenant({ prefix: 'platform-cap-fail' });
    await ok(gw, gw.platformToken, SET_PLATFORM_KEY_LIMIT, {
      tenantId: tenant.tenantId,
      input: { monthlyCapUsd: 10 * maxRequestCost() },
    });
    anthropic.enqueue({ kind: 'http-error', status: 400, message: 'bad request' });
    const failed = await runChat(client(tenant.adminToken), chatInput(1));
    expect(failed.failed?.code).toBe('UPSTREAM_BAD_REQUEST');
    expect(await heldReservations(tenant.tenantId)).toEqual([]);
  });
});
