import {
  chat,
  chatTenant,
  expectedCost,
  startChatEnvironment,
  uniqueText,
  usageRow,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { CREDENTIALS } from '../support/documents';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { ok } from '../support/graphql-client';

/**
 * docs/api.md: "Every request, whatever its end, leaves a usage row (tenant, user, credential or
 * platform, key source, model, tokens, cost, time to first token, total time, status) and sets
 * the credential's lastUsedAt." Tokens are what the upstream reported; cost is tokens × the
 * catalog price of src/catalog/models.json.
 */

let env: ChatEnvironment;
let tenant: ChatTenant;
let personalId: string;
let tenantId: string;
const TOKENS = ['One', ' two', ' three', ' four'];

beforeAll(async () => {
  env = await startChatEnvironment({ ANTHROPIC_API_KEY: anthropicKey() });
  tenant = await chatTenant(env.gw);
  personalId = await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
  tenantId = await storeAnthropicKey(env.gw, tenant.adminToken, 'TENANT', anthropicKey());
});

beforeEach(() => env.anthropic.reset());

afterAll(async () => {
  await env?.stop();
});

const lastUsedAt = async (token: string, credentialId: string): Promise<string | null> => {
  const credentials = (await ok(env.gw, token, CREDENTIALS)).credentials as Array<{
    id: string;
    lastUsedAt: string | null;
  }>;
  const credential = credentials.find((candidate) => candidate.id === credentialId);
  if (!credential) throw new Error(`credential ${credentialId} is not listed for this caller`);
  return credential.lastUsedAt;
};

test.each([
  ['PERSONAL', 'claude-haiku-4-5', (): string | null => personalId],
  ['TENANT', 'claude-sonnet-5-5', (): string | null => tenantId],
  ['PLATFORM', 'claude-opus-5-5', (): string | null => null],
] as const)(
  'a completed %s chat on %s: tokens as the upstream reported, catalog cost, timings',
  async (keySource, model, credential) => {
    env.anthropic.enqueue({
      kind: 'stream',
      tokens: TOKENS,
      inputTokens: 1234,
      outputTokens: 567,
      stopReason: 'max_tokens',
    });
    const run = await chat(env.gw, tenant.member.token, { message: uniqueText('usage'), keySource, model });

    const cost = expectedCost(model, 1234, 567);
    expect(run.started).toMatchObject({ keySource, model });
    expect(run.text).toBe(TOKENS.join(''));
    expect(run.completed).toEqual({
      __typename: 'ChatCompleted',
      stopReason: 'max_tokens',
      usage: { inputTokens: 1234, outputTokens: 567, costUsd: expect.closeTo(cost, 12) },
    });
    const row = await usageRow(run.started!.requestId);
    expect(row).toMatchObject({
      tenant_id: tenant.tenantId,
      user_id: tenant.member.userId,
      credential_id: credential(),
      key_source: keySource,
      model,
      input_tokens: 1234,
      output_tokens: 567,
      status: 'completed',
      error_code: null,
    });
    expect(row.cost_usd).toBeCloseTo(cost, 12);
    expect(row.ttft_ms).not.toBeNull();
    expect(row.ttft_ms).toBeGreaterThanOrEqual(0);
    expect(row.total_ms).toBeGreaterThanOrEqual(row.ttft_ms!);
  },
);

test('the default usage of the upstream: input from message_start, output from message_delta', async () => {
  const message = uniqueText('defaults');
  const run = await chat(env.gw, tenant.member.token, { message });
  const [request] = env.anthropic.requests;
  const reply = `Echo: ${message}`;
  // The local server's defaults: one input token per 4 characters, one output token per word.
  const input = Math.ceil(message.length / 4);
  const output = reply.split(' ').length;
  expect(request.tokensSent).toBe(output);
  expect(run.completed!.usage).toEqual({
    inputTokens: input,
    outputTokens: output,
    costUsd: expect.closeTo(expectedCost('claude-haiku-4-5', input, output), 12),
  });
  expect(await usageRow(run.started!.requestId)).toMatchObject({ input_tokens: input, output_tokens: output });
});

test('a failed request leaves a failed row with its error code and no first-token time', async () => {
  env.anthropic.enqueue({ kind: 'http-error', status: 500 });
  const run = await chat(env.gw, tenant.member.token, { message: uniqueText('failed'), keySource: 'TENANT' });
  expect(run.failed?.code).toBe('UPSTREAM_ERROR');
  expect(await usageRow(run.started!.requestId)).toMatchObject({
    tenant_id: tenant.tenantId,
    user_id: tenant.member.userId,
    credential_id: tenantId,
    key_source: 'TENANT',
    status: 'failed',
    error_code: 'UPSTREAM_ERROR',
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: 0,
    ttft_ms: null,
  });
});

test("a chat sets its credential's lastUsedAt, and only that credential's", async () => {
  const own = await chatTenant(env.gw);
  const personal = await storeAnthropicKey(env.gw, own.member.token, 'PERSONAL', anthropicKey());
  const shared = await storeAnthropicKey(env.gw, own.adminToken, 'TENANT', anthropicKey());
  expect(await lastUsedAt(own.member.token, personal)).toBeNull();
  expect(await lastUsedAt(own.adminToken, shared)).toBeNull();

  const before = new Date();
  await chat(env.gw, own.member.token, { message: uniqueText('personal'), keySource: 'PERSONAL' });
  const personalUse = await lastUsedAt(own.member.token, personal);
  expect(personalUse).not.toBeNull();
  expect(new Date(personalUse!).getTime()).toBeGreaterThanOrEqual(before.getTime());
  expect(await lastUsedAt(own.adminToken, shared)).toBeNull();

  // A failed request counts as a use too.
  env.anthropic.enqueue({ kind: 'http-error', status: 401 });
  await chat(env.gw, own.member.token, { message: uniqueText('shared'), keySource: 'TENANT' });
  const sharedUse = await lastUsedAt(own.adminToken, shared);
  expect(sharedUse).not.toBeNull();
  expect(new Date(sharedUse!).getTime()).toBeGreaterThanOrEqual(new Date(personalUse!).getTime());
});

test('usage() sums exactly the rows of the tenant, by key source', async () => {
  const own = await chatTenant(env.gw);
  await storeAnthropicKey(env.gw, own.member.token, 'PERSONAL', anthropicKey());
  env.anthropic.enqueue(
    { kind: 'stream', tokens: TOKENS, inputTokens: 100, outputTokens: 10 },
    { kind: 'stream', tokens: TOKENS, inputTokens: 200, outputTokens: 20 },
    { kind: 'stream', tokens: TOKENS, inputTokens: 300, outputTokens: 30 },
  );
  await chat(env.gw, own.member.token, { message: uniqueText('a'), keySource: 'PERSONAL' });
  await chat(env.gw, own.member.token, { message: uniqueText('b'), keySource: 'PERSONAL' });
  await chat(env.gw, own.member.token, { message: uniqueText('c'), keySource: 'PLATFORM' });

  const buckets = (
    await ok(
      env.gw,
      own.adminToken,
      '{ usage(groupBy: [KEY_SOURCE]) { keySource requests inputTokens outputTokens costUsd } }',
    )
  ).usage as Array<Record<string, unknown>>;
  expect(buckets).toHaveLength(2);
  expect(buckets).toEqual(
    expect.arrayContaining([
      {
        keySource: 'PERSONAL',
        requests: 2,
        inputTokens: 300,
        outputTokens: 30,
        costUsd: expect.closeTo(expectedCost('claude-haiku-4-5', 300, 30), 12),
      },
      {
        keySource: 'PLATFORM',
        requests: 1,
        inputTokens: 300,
        outputTokens: 30,
        costUsd: expect.closeTo(expectedCost('claude-haiku-4-5', 300, 30), 12),
      },
    ]),
  );
});
