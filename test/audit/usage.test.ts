import type { Client as WsClient } from 'graphql-ws';
import { Provider } from '../../src/modules/credential/provider';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { chatClient, completedChat } from '../support/chat-harness';
import { MODELS, SET_CREDENTIAL, USAGE, type UsageBucketView } from '../support/documents';
import { createMember, createTenantWithAdmin, type TenantFixture, type UserFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { errorCode, ok, post } from '../support/graphql-client';
import { sql } from '../support/sql';
import { providerKey } from '../support/vault-fixtures';

/**
 * usage(filter, groupBy): after chats by several users with different models and key sources,
 * every grouping equals both the sums of the stored usage rows and the sums of what the clients
 * were told in ChatCompleted; cost is tokens × catalog price; members see only their own rows.
 */

type Dimension = 'USER' | 'MODEL' | 'KEY_SOURCE' | 'DAY';
const DIMENSIONS: Dimension[] = ['USER', 'MODEL', 'KEY_SOURCE', 'DAY'];
/** Every subset of the dimensions, the empty one included. */
const GROUPINGS: Dimension[][] = Array.from({ length: 16 }, (_, mask) =>
  DIMENSIONS.filter((_, bit) => mask & (1 << bit)),
);

interface UsageRecord {
  requestId: string;
  userId: string;
  model: string;
  keySource: string;
  day: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

let anthropic: AnthropicServer;
let gw: TestGateway;
let tenant: TenantFixture;
let alice: UserFixture;
let bob: UserFixture;
let auditor: UserFixture;
let platformKey: string;
let aliceKey: string;
let tenantKey: string;
let prices: Map<string, { input: number; output: number }>;
const sockets: WsClient[] = [];
/** What the clients were told, one per chat. */
const received: Array<Omit<UsageRecord, 'day'>> = [];
let startedAt: Date;

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  platformKey = providerKey(Provider.ANTHROPIC);
  gw = await startTestGateway({ env: { ANTHROPIC_BASE_URL: anthropic.baseURL, ANTHROPIC_API_KEY: platformKey } });
  tenant = await createTenantWithAdmin(gw, 'usage');
  alice = await createMember(gw, tenant.adminToken, 'MEMBER');
  bob = await createMember(gw, tenant.adminToken, 'MEMBER');
  auditor = await createMember(gw, tenant.adminToken, 'AUDITOR');
  aliceKey = providerKey(Provider.ANTHROPIC);
  tenantKey = providerKey(Provider.ANTHROPIC);
  await ok(gw, alice.token, SET_CREDENTIAL, {
    input: { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: aliceKey, validate: false },
  });
  await ok(gw, tenant.adminToken, SET_CREDENTIAL, {
    input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: tenantKey, validate: false },
  });
  const models = (await ok(gw, alice.token, MODELS)).models as Array<{
    id: string;
    inputUsdPerMTok: number;
    outputUsdPerMTok: number;
  }>;
  prices = new Map(models.map((model) => [model.id, { input: model.inputUsdPerMTok, output: model.outputUsdPerMTok }]));

  startedAt = new Date(Date.now() - 1000);
  const plan: Array<[UserFixture, string, 'AUTO' | 'PERSONAL' | 'TENANT' | 'PLATFORM', string, string]> = [
    // user, model, requested key source, expected key source, key the provider must see
    [alice, 'claude-haiku-4-5', 'AUTO', 'PERSONAL', aliceKey],
    [alice, 'claude-sonnet-5-5', 'PERSONAL', 'PERSONAL', aliceKey],
    [alice, 'claude-haiku-4-5', 'TENANT', 'TENANT', tenantKey],
    [alice, 'claude-sonnet-5-5', 'PLATFORM', 'PLATFORM', platformKey],
    [alice, 'claude-haiku-4-5', 'AUTO', 'PERSONAL', aliceKey],
    [bob, 'claude-haiku-4-5', 'AUTO', 'TENANT', tenantKey],
    [bob, 'claude-sonnet-5-5', 'TENANT', 'TENANT', tenantKey],
    [bob, 'claude-haiku-4-5', 'PLATFORM', 'PLATFORM', platformKey],
    [bob, 'claude-sonnet-5-5', 'AUTO', 'TENANT', tenantKey],
    [bob, 'claude-sonnet-5-5', 'PLATFORM', 'PLATFORM', platformKey],
  ];
  const clients = new Map([alice, bob].map((user) => [user.userId, chatClient(gw, user.token)]));
  sockets.push(...clients.values());
  for (const [i, [user, model, keySource, expectedSource, expectedKey]] of plan.entries()) {
    const inputTokens = 1000 + 137 * i;
    const outputTokens = 50 + 61 * i;
    anthropic.enqueue({ kind: 'stream', tokens: ['Hello', ' there', '.'], inputTokens, outputTokens });
    const before = anthropic.requests.length;
    const chat = await completedChat(clients.get(user.userId)!, { message: `usage chat ${i}`, model, keySource });
    expect(chat.started).toMatchObject({ model, keySource: expectedSource });
    expect(chat.completed.usage).toMatchObject({ inputTokens, outputTokens });
    const upstream = anthropic.requests.slice(before).filter((request) => request.path === '/v1/messages');
    expect(upstream.map((request) => request.apiKey)).toEqual([expectedKey]);
    received.push({
      requestId: chat.started.requestId!,
      userId: user.userId,
      model,
      keySource: expectedSource,
      ...chat.completed.usage!,
    });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(sockets.map(async (socket) => socket.dispose()));
  await gw?.stop();
  await anthropic?.close();
});

const storedRows = async (): Promise<UsageRecord[]> =>
  (
    await sql(
      `select request_id, user_id, model, key_source, input_tokens, output_tokens, cost_usd,
              to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') as day
       from usage_records where tenant_id = $1`,
      [tenant.tenantId],
    )
  ).map((row) => ({
    requestId: row.request_id,
    userId: row.user_id,
    model: row.model,
    keySource: row.key_source,
    day: row.day,
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    costUsd: Number(row.cost_usd),
  }));

/** The buckets `usage` should return for these records, sorted. */
function aggregate(records: UsageRecord[], groupBy: Dimension[]): UsageBucketView[] {
  const buckets = new Map<string, UsageBucketView>();
  for (const record of records) {
    const dims = {
      userId: groupBy.includes('USER') ? record.userId : null,
      model: groupBy.includes('MODEL') ? record.model : null,
      keySource: groupBy.includes('KEY_SOURCE') ? record.keySource : null,
      day: groupBy.includes('DAY') ? record.day : null,
    };
    const key = JSON.stringify(dims);
    const bucket = buckets.get(key) ?? { ...dims, requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    bucket.requests++;
    bucket.inputTokens += record.inputTokens;
    bucket.outputTokens += record.outputTokens;
    bucket.costUsd += record.costUsd;
    buckets.set(key, bucket);
  }
  // Without groupBy there is always exactly one total, even over no rows.
  if (groupBy.length === 0 && buckets.size === 0) {
    return [
      {
        userId: null,
        model: null,
        keySource: null,
        day: null,
        requests: 0,
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
      },
    ];
  }
  return sortBuckets([...buckets.values()]);
}

const dimKey = (bucket: UsageBucketView): string =>
  JSON.stringify([bucket.userId, bucket.model, bucket.keySource, bucket.day]);
const sortBuckets = (buckets: UsageBucketView[]): UsageBucketView[] =>
  [...buckets].sort((a, b) => dimKey(a).localeCompare(dimKey(b)));

function expectBuckets(actual: UsageBucketView[], expected: UsageBucketView[]): void {
  const sorted = sortBuckets(actual);
  expect(sorted.map(dimKey)).toEqual(expected.map(dimKey));
  for (const [i, bucket] of sorted.entries()) {
    const { costUsd, ...rest } = bucket;
    const { costUsd: expectedCost, ...expectedRest } = expected[i];
    expect(rest).toEqual(expectedRest);
    expect(costUsd).toBeCloseTo(expectedCost, 10);
  }
}

async function usage(
  token: string,
  groupBy: Dimension[] | null,
  filter: Record<string, unknown> | null = null,
): Promise<UsageBucketView[]> {
  return (await ok(gw, token, USAGE, { groupBy, filter })).usage;
}

describe('what was recorded', () => {
  test('each chat left one usage row equal to what its client received; cost = tokens × catalog price', async () => {
    const rows = await storedRows();
    expect(rows).toHaveLength(received.length);
    for (const got of received) {
      const row = rows.find((candidate) => candidate.requestId === got.requestId);
      expect(row).toMatchObject({
        userId: got.userId,
        model: got.model,
        keySource: got.keySource,
        inputTokens: got.inputTokens,
        outputTokens: got.outputTokens,
      });
      expect(row!.costUsd).toBeCloseTo(got.costUsd, 12);
      const price = prices.get(got.model)!;
      expect(got.costUsd).toBeCloseTo(
        (got.inputTokens * price.input + got.outputTokens * price.output) / 1_000_000,
        12,
      );
    }
    // The two models really are priced differently, so MODEL groupings are a real test.
    expect(prices.get('claude-haiku-4-5')).not.toEqual(prices.get('claude-sonnet-5-5'));
  });
});

describe('grouping', () => {
  test.each(GROUPINGS.map((groupBy) => [groupBy.join('+') || '(none)', groupBy]))(
    'groupBy %s equals the stored rows and what the clients received',
    async (_name, groupBy) => {
      const rows = await storedRows();
      const fromClients = received.map((got) => ({
        ...got,
        day: rows.find((row) => row.requestId === got.requestId)!.day,
      }));
      const expected = aggregate(rows, groupBy as Dimension[]);
      expectBuckets(aggregate(fromClients, groupBy as Dimension[]), expected);
      expectBuckets(await usage(tenant.adminToken, groupBy as Dimension[]), expected);
      expectBuckets(await usage(auditor.token, groupBy as Dimension[]), expected);
    },
  );

  test('no groupBy (null or empty) is one total; a repeated dimension counts once', async () => {
    const rows = await storedRows();
    expectBuckets(await usage(tenant.adminToken, null), aggregate(rows, []));
    expectBuckets(await usage(tenant.adminToken, ['USER', 'USER', 'MODEL']), aggregate(rows, ['USER', 'MODEL']));
    const [total] = await usage(tenant.adminToken, null);
    expect(total.requests).toBe(received.length);
  });

  test('DAY is the UTC date, YYYY-MM-DD', async () => {
    const days = await usage(tenant.adminToken, ['DAY']);
    for (const bucket of days) expect(bucket.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(days.map((bucket) => bucket.day)).toContain(new Date().toISOString().slice(0, 10));
  });
});

describe('who sees what', () => {
  test('a MEMBER sees only their own rows, whatever they ask for', async () => {
    const rows = await storedRows();
    for (const member of [alice, bob]) {
      const own = rows.filter((row) => row.userId === member.userId);
      expect(own.length).toBeGreaterThan(0);
      for (const groupBy of GROUPINGS) expectBuckets(await usage(member.token, groupBy), aggregate(own, groupBy));
      const other = member === alice ? bob : alice;
      expectBuckets(await usage(member.token, ['USER'], { userId: other.userId }), []);
      expectBuckets(await usage(member.token, null, { userId: other.userId }), aggregate([], []));
    }
  });

  test("another tenant's admin sees none of these rows", async () => {
    const other = await createTenantWithAdmin(gw, 'usage-other');
    expectBuckets(await usage(other.adminToken, ['USER']), []);
  });

  test('usage needs authentication', async () => {
    expect(errorCode(await post(gw, undefined, USAGE, {}))).toBe('UNAUTHENTICATED');
  });
});

describe('filters', () => {
  test.each([
    ['userId', (row: UsageRecord) => ({ userId: row.userId })],
    ['model', (row: UsageRecord) => ({ model: row.model })],
    ['keySource', (row: UsageRecord) => ({ keySource: row.keySource })],
  ])('%s, alone and grouped', async (_name, pick) => {
    const rows = await storedRows();
    const values = new Set(rows.map((row) => JSON.stringify(pick(row))));
    expect(values.size).toBeGreaterThan(1);
    for (const value of values) {
      const filter = JSON.parse(value) as Record<string, string>;
      const [field, wanted] = Object.entries(filter)[0];
      const selected = rows.filter((row) => (row as unknown as Record<string, string>)[field] === wanted);
      expectBuckets(await usage(tenant.adminToken, null, filter), aggregate(selected, []));
      expectBuckets(
        await usage(tenant.adminToken, ['USER', 'MODEL', 'KEY_SOURCE'], filter),
        aggregate(selected, ['USER', 'MODEL', 'KEY_SOURCE']),
      );
    }
  });

  test('filters combine', async () => {
    const rows = await storedRows();
    const selected = rows.filter(
      (row) => row.userId === bob.userId && row.model === 'claude-sonnet-5-5' && row.keySource === 'TENANT',
    );
    expect(selected).toHaveLength(2);
    const filter = { userId: bob.userId, model: 'claude-sonnet-5-5', keySource: 'TENANT' };
    expectBuckets(await usage(tenant.adminToken, ['DAY'], filter), aggregate(selected, ['DAY']));
    expectBuckets(await usage(alice.token, null, filter), aggregate([], []));
  });

  test('keySource AUTO matches nothing: rows store the source actually used', async () => {
    expectBuckets(await usage(tenant.adminToken, ['KEY_SOURCE'], { keySource: 'AUTO' }), []);
  });

  test('since and until', async () => {
    const rows = await storedRows();
    const future = new Date(Date.now() + 60_000).toISOString();
    expectBuckets(
      await usage(tenant.adminToken, ['USER'], { since: startedAt.toISOString(), until: future }),
      aggregate(rows, ['USER']),
    );
    expectBuckets(await usage(tenant.adminToken, ['USER'], { since: future }), []);
    expectBuckets(await usage(tenant.adminToken, ['USER'], { until: startedAt.toISOString() }), []);

    // A cut between two chats splits them.
    const times = await sql<{ request_id: string; created_at: Date }>(
      'select request_id, created_at from usage_records where tenant_id = $1 order by created_at',
      [tenant.tenantId],
    );
    const cut = new Date((times[4].created_at.getTime() + times[5].created_at.getTime()) / 2);
    expect(cut.getTime()).toBeGreaterThan(times[4].created_at.getTime());
    const early = new Set(times.filter((row) => row.created_at < cut).map((row) => row.request_id));
    expectBuckets(
      await usage(tenant.adminToken, ['MODEL'], { until: cut.toISOString() }),
      aggregate(
        rows.filter((row) => early.has(row.requestId)),
        ['MODEL'],
      ),
    );
    expectBuckets(
      await usage(tenant.adminToken, ['MODEL'], { since: cut.toISOString() }),
      aggregate(
        rows.filter((row) => !early.has(row.requestId)),
        ['MODEL'],
      ),
    );
  });
});

describe('days', () => {
  test('DAY buckets split at UTC midnight, and since/until select by instant', async () => {
    const other = await createTenantWithAdmin(gw, 'usage-days');
    await ok(gw, other.adminToken, SET_CREDENTIAL, {
      input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: providerKey(Provider.ANTHROPIC), validate: false },
    });
    const client = chatClient(gw, other.adminToken);
    sockets.push(client);
    const instants = ['2025-12-31T23:59:59.999Z', '2026-01-01T00:00:00.000Z', '2026-01-01T23:30:00.000Z'];
    for (const [i, instant] of instants.entries()) {
      anthropic.enqueue({ kind: 'stream', tokens: ['x'], inputTokens: 10 * (i + 1), outputTokens: i + 1 });
      const chat = await completedChat(client, { message: `day ${i}`, model: 'claude-haiku-4-5' });
      // The chat really happened now; its row is moved to a chosen instant to test the day boundary.
      await sql('update usage_records set created_at = $2 where request_id = $1', [chat.started.requestId, instant]);
    }
    const days = await usage(other.adminToken, ['DAY']);
    expect(
      days.map(({ day, requests, inputTokens, outputTokens }) => ({ day, requests, inputTokens, outputTokens })),
    ).toEqual([
      { day: '2025-12-31', requests: 1, inputTokens: 10, outputTokens: 1 },
      { day: '2026-01-01', requests: 2, inputTokens: 50, outputTokens: 5 },
    ]);
    const newYear = await usage(other.adminToken, null, {
      since: '2026-01-01T00:00:00.000Z',
      until: '2026-01-02T00:00:00.000Z',
    });
    expect(newYear[0]).toMatchObject({ requests: 2, inputTokens: 50 });
    const oldYear = await usage(other.adminToken, null, { until: '2026-01-01T00:00:00.000Z' });
    expect(oldYear[0]).toMatchObject({ requests: 1, inputTokens: 10 });
  });
});
