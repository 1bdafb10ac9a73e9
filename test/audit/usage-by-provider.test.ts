import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import {
  chatClient,
  chatTenant,
  completedChat,
  startChatEnvironment,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { errorCode, ok, post } from '../support/graphql-client';
import { sql } from '../support/sql';

/**
 * usage(groupBy: [PROVIDER]): each usage row keeps the provider of its model, so usage groups
 * and filters by provider — also for a model the catalog no longer lists.
 */

const USAGE_BY_PROVIDER = /* GraphQL */ `
  query ($filter: UsageFilter, $groupBy: [UsageDimension!]) {
    usage(filter: $filter, groupBy: $groupBy) {
      provider
      model
      requests
      inputTokens
      outputTokens
      costUsd
    }
  }
`;

interface Bucket {
  provider: string | null;
  model: string | null;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

let env: ChatEnvironment;
let tenant: ChatTenant;
let client: Client;

/** A usage row for a provider whose chats another part of the gateway serves, and a model not in the catalog. */
async function insertUsage(provider: string, model: string, inputTokens: number, outputTokens: number, cost: number) {
  await sql(
    `insert into usage_records (id, tenant_id, user_id, credential_id, key_source, model, provider, request_id,
       input_tokens, output_tokens, cost_usd, ttft_ms, total_ms, status, error_code, created_at)
     values ($1, $2, $3, null, 'PLATFORM', $4, $5, $6, $7, $8, $9, 10, 20, 'completed', null, now())`,
    [
      randomUUID(),
      tenant.tenantId,
      tenant.member.userId,
      model,
      provider,
      randomUUID(),
      inputTokens,
      outputTokens,
      cost,
    ],
  );
}

beforeAll(async () => {
  env = await startChatEnvironment();
  tenant = await chatTenant(env.gw);
  await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
  client = chatClient(env.gw, tenant.member.token);
  for (const model of ['claude-haiku-4-5', 'claude-haiku-4-5', 'claude-opus-5-5']) {
    env.anthropic.enqueue({ kind: 'stream', tokens: ['Hi', '.'], inputTokens: 300, outputTokens: 20 });
    await completedChat(client, { message: `provider usage ${model}`, model });
  }
  await insertUsage('OPENAI', 'gpt-retired-test', 1000, 100, 0.5);
  await insertUsage('OPENAI', 'gpt-retired-test', 2000, 200, 1);
  await insertUsage('OPENROUTER', 'vendor/retired-test', 500, 50, 0.25);
});

afterAll(async () => {
  await client?.dispose();
  await env?.stop();
});

const usage = async (groupBy: string[] | null, filter: Record<string, unknown> | null = null): Promise<Bucket[]> =>
  ((await ok(env.gw, tenant.member.token, USAGE_BY_PROVIDER, { groupBy, filter })) as { usage: Bucket[] }).usage;

test('a chat records the provider of its model on its usage row', async () => {
  const rows = await sql(`select model, provider from usage_records where tenant_id = $1 and key_source = 'PERSONAL'`, [
    tenant.tenantId,
  ]);
  expect(rows).toHaveLength(3);
  for (const row of rows) expect(row.provider).toBe('ANTHROPIC');
});

test('groupBy PROVIDER sums the rows of each provider; the other fields are null', async () => {
  const rows = await sql(
    `select provider, count(*)::int as requests, sum(input_tokens)::int as input, sum(output_tokens)::int as output,
            sum(cost_usd) as cost
     from usage_records where tenant_id = $1 group by provider order by provider`,
    [tenant.tenantId],
  );
  const buckets = await usage(['PROVIDER']);
  expect(buckets.map((bucket) => bucket.provider)).toEqual(['ANTHROPIC', 'OPENAI', 'OPENROUTER']);
  for (const [i, bucket] of buckets.entries()) {
    expect(bucket).toMatchObject({
      provider: rows[i].provider,
      model: null,
      requests: rows[i].requests,
      inputTokens: rows[i].input,
      outputTokens: rows[i].output,
    });
    expect(bucket.costUsd).toBeCloseTo(Number(rows[i].cost), 10);
  }
  expect(buckets.find((bucket) => bucket.provider === 'OPENAI')).toMatchObject({
    requests: 2,
    inputTokens: 3000,
    outputTokens: 300,
  });
});

test('PROVIDER with MODEL, and the provider filter, keep models the catalog no longer lists', async () => {
  const byModel = await usage(['PROVIDER', 'MODEL']);
  expect(byModel.map((bucket) => [bucket.provider, bucket.model, bucket.requests])).toEqual([
    ['ANTHROPIC', 'claude-haiku-4-5', 2],
    ['ANTHROPIC', 'claude-opus-5-5', 1],
    ['OPENAI', 'gpt-retired-test', 2],
    ['OPENROUTER', 'vendor/retired-test', 1],
  ]);
  const [openAi] = await usage(null, { provider: 'OPENAI' });
  expect(openAi).toMatchObject({ provider: null, requests: 2, inputTokens: 3000, outputTokens: 300 });
  expect(openAi.costUsd).toBeCloseTo(1.5, 10);
  expect(await usage(['PROVIDER'], { provider: 'LINEAR' })).toEqual([]);
});

test('an unknown provider is refused as bad input', async () => {
  const res = await post(env.gw, tenant.member.token, USAGE_BY_PROVIDER, {
    groupBy: ['PROVIDER'],
    filter: { provider: 'NOPE' },
  });
  expect(errorCode(res)).toBe('BAD_USER_INPUT');
});
