import { worstCaseInputTokens } from '../../src/limits/worst-case-input';
import { waitForClose } from '../support/anthropic-server';
import {
  chat,
  chatTenant,
  eventualUsageRow,
  expectedCost,
  openAiUpstreamFor,
  openChat,
  refusedChat,
  startChatEnvironment,
  uniqueText,
  usageRow,
  type ChatEnvironment,
  type ChatRun,
  type ChatTenant,
} from '../support/chat-harness';
import { CREATE_AGENT, MODELS, type KeySourceName } from '../support/documents';
import {
  anthropicKey,
  createMember,
  openAiKey,
  openRouterKey,
  storeAnthropicKey,
  storeProviderKey,
  type ChatProviderName,
} from '../support/fixtures';
import { ok } from '../support/graphql-client';
import type { OpenAiBehaviour, OpenAiRecordedRequest, OpenAiServer } from '../support/openai-server';

/**
 * Chat through OpenAI and OpenRouter (one openai-SDK adapter) over a real graphql-ws client, with
 * the guarantees the Anthropic tests prove: docs/api.md's key-source table and its codes, system
 * prompt and history upstream, usage and cost, every upstream failure's code, and cancellation
 * closing the upstream request.
 */

const APP_URL = 'https://keyward.example.test/';
let env: ChatEnvironment;
const platform = { OPENAI: openAiKey(), OPENROUTER: openRouterKey() };

beforeAll(async () => {
  env = await startChatEnvironment({
    OPENAI_API_KEY: platform.OPENAI,
    OPENROUTER_API_KEY: platform.OPENROUTER,
    OPENROUTER_APP_URL: APP_URL,
  });
});

afterAll(async () => {
  await env?.stop();
});

interface ProviderCase {
  provider: Exclude<ChatProviderName, 'ANTHROPIC'>;
  model: string;
  newKey: () => string;
  server: () => OpenAiServer;
  path: string;
}

const CASES: ProviderCase[] = [
  {
    provider: 'OPENAI',
    model: 'gpt-5-mini',
    newKey: openAiKey,
    server: () => env.openai,
    path: '/v1/chat/completions',
  },
  {
    provider: 'OPENROUTER',
    model: 'openai/gpt-5-mini',
    newKey: openRouterKey,
    server: () => env.openrouter,
    path: '/api/v1/chat/completions',
  },
];

describe.each(CASES)('$provider', ({ provider, model, newKey, server, path }) => {
  let tenant: ChatTenant;
  let personalKey: string;
  let tenantKey: string;

  beforeAll(async () => {
    tenant = await chatTenant(env.gw, { allowPlatformKey: true });
    personalKey = newKey();
    tenantKey = newKey();
    await storeProviderKey(env.gw, tenant.member.token, provider, 'PERSONAL', personalKey);
    await storeProviderKey(env.gw, tenant.adminToken, provider, 'TENANT', tenantKey);
  });

  beforeEach(() => server().reset());

  /** The one upstream request of a chat (after retries: the attempts, each checked for the key). */
  function upstreamOf(message: string): OpenAiRecordedRequest[] {
    return openAiUpstreamFor(server(), message);
  }

  async function expectServed(
    token: string,
    keySource: KeySourceName | undefined,
    expected: { source: string; key: string },
  ) {
    const message = uniqueText('pick');
    const run = await chat(env.gw, token, { message, model, ...(keySource ? { keySource } : {}) });
    expect(run.errors).toBeUndefined();
    expect(run.started).toMatchObject({ keySource: expected.source, model });
    expect(run.text).toBe(`Echo: ${message}`);
    expect(run.completed).toMatchObject({ stopReason: 'stop' });
    const [request, ...more] = upstreamOf(message);
    expect(more).toHaveLength(0);
    expect(request).toMatchObject({ method: 'POST', path, apiKey: expected.key });
    expect(request.body).toMatchObject({ model, stream: true, stream_options: { include_usage: true } });
    return { run, request };
  }

  async function expectRefused(token: string, input: { keySource?: KeySourceName }, code: string) {
    const message = uniqueText('refused');
    expect(await refusedChat(env.gw, token, { message, model, ...input })).toBe(code);
    expect(upstreamOf(message)).toHaveLength(0);
  }

  describe('key source', () => {
    test('AUTO (and the default) uses the personal key; PERSONAL, TENANT and PLATFORM each use exactly theirs', async () => {
      await expectServed(tenant.member.token, 'AUTO', { source: 'PERSONAL', key: personalKey });
      await expectServed(tenant.member.token, undefined, { source: 'PERSONAL', key: personalKey });
      await expectServed(tenant.member.token, 'PERSONAL', { source: 'PERSONAL', key: personalKey });
      await expectServed(tenant.member.token, 'TENANT', { source: 'TENANT', key: tenantKey });
      await expectServed(tenant.member.token, 'PLATFORM', { source: 'PLATFORM', key: platform[provider] });
    });

    test('AUTO falls back to the tenant key, then to the platform key', async () => {
      const other = await createMember(env.gw, tenant.adminToken);
      await expectServed(other.token, 'AUTO', { source: 'TENANT', key: tenantKey });
      const bare = await chatTenant(env.gw, { allowPlatformKey: true });
      await expectServed(bare.member.token, 'AUTO', { source: 'PLATFORM', key: platform[provider] });
    });

    test('models lists the sources that would serve the model for the caller', async () => {
      const sourcesFor = async (token: string) =>
        (await ok(env.gw, token, MODELS)).models.find((entry: { id: string }) => entry.id === model)!.keySources;
      expect(await sourcesFor(tenant.member.token)).toEqual(['PERSONAL', 'TENANT', 'PLATFORM']);
      const closed = await chatTenant(env.gw, { allowPlatformKey: false });
      expect(await sourcesFor(closed.member.token)).toEqual([]);
    });

    test('missing keys: PERSONAL_KEY_MISSING, TENANT_KEY_MISSING, PLATFORM_KEY_DISABLED, NO_CREDENTIAL', async () => {
      const closed = await chatTenant(env.gw, { allowPlatformKey: false });
      await expectRefused(closed.member.token, { keySource: 'PERSONAL' }, 'PERSONAL_KEY_MISSING');
      await expectRefused(closed.member.token, { keySource: 'TENANT' }, 'TENANT_KEY_MISSING');
      await expectRefused(closed.member.token, { keySource: 'PLATFORM' }, 'PLATFORM_KEY_DISABLED');
      // Keys of another provider do not serve this one.
      await storeAnthropicKey(env.gw, closed.member.token, 'PERSONAL', anthropicKey());
      await expectRefused(closed.member.token, { keySource: 'AUTO' }, 'NO_CREDENTIAL');
    });
  });

  test('the agent’s system prompt and the conversation’s history reach the upstream in order', async () => {
    const systemPrompt = `You are terse ${uniqueText('sys')}`;
    const agent = (
      await ok(env.gw, tenant.member.token, CREATE_AGENT, { input: { name: uniqueText('agent'), systemPrompt, model } })
    ).createAgent;
    const first = uniqueText('first');
    const opened = await chat(env.gw, tenant.member.token, { message: first, agentId: agent.id });
    expect(opened.completed).toBeDefined();
    expect(opened.started).toMatchObject({ model });
    const second = uniqueText('second');
    const continued = await chat(env.gw, tenant.member.token, {
      message: second,
      conversationId: opened.started!.conversationId,
    });
    expect(continued.text).toBe(`Echo: ${second}`);
    const [request] = upstreamOf(second);
    expect(request.body?.messages).toEqual([
      { role: 'system', content: systemPrompt },
      { role: 'user', content: first },
      { role: 'assistant', content: `Echo: ${first}` },
      { role: 'user', content: second },
    ]);
  });

  test('the usage chunk’s tokens make the usage row and the cost at catalog prices', async () => {
    server().enqueue({ kind: 'stream', tokens: ['One', ' two', ' three'], promptTokens: 1234, completionTokens: 56 });
    const message = uniqueText('usage');
    const run = await chat(env.gw, tenant.member.token, { message, model, maxTokens: 300 });
    const cost = expectedCost(model, 1234, 56);
    expect(run.completed).toMatchObject({ stopReason: 'stop', usage: { inputTokens: 1234, outputTokens: 56 } });
    expect(run.completed!.usage.costUsd).toBeCloseTo(cost, 10);
    const row = await usageRow(run.started!.requestId);
    expect(row).toMatchObject({
      status: 'completed',
      model,
      key_source: 'PERSONAL',
      input_tokens: 1234,
      output_tokens: 56,
    });
    expect(Number(row.cost_usd)).toBeCloseTo(cost, 10);
    const [request] = upstreamOf(message);
    // OpenAI's reasoning models take only max_completion_tokens; OpenRouter documents max_tokens.
    const field = provider === 'OPENAI' ? 'max_completion_tokens' : 'max_tokens';
    expect(request.body?.[field]).toBe(300);
  });

  if (provider === 'OPENROUTER') {
    test('requests carry OpenRouter’s X-Title and HTTP-Referer headers', async () => {
      const { request } = await expectServed(tenant.member.token, 'PERSONAL', { source: 'PERSONAL', key: personalKey });
      expect(request.headers['x-title']).toBe('Keyward');
      expect(request.headers['http-referer']).toBe(APP_URL);
    });
  } else {
    test('requests to OpenAI carry no OpenRouter headers', async () => {
      const { request } = await expectServed(tenant.member.token, 'PERSONAL', { source: 'PERSONAL', key: personalKey });
      expect(request.headers['x-title']).toBeUndefined();
      expect(request.headers['http-referer']).toBeUndefined();
    });
  }

  describe('upstream failures', () => {
    async function chatWith(...behaviours: OpenAiBehaviour[]) {
      server().enqueue(...behaviours);
      const message = uniqueText('fail');
      const run = await chat(env.gw, tenant.member.token, { message, model, keySource: 'PERSONAL' });
      expect(run.errors).toBeUndefined();
      const attempts = upstreamOf(message);
      expect(attempts.every((request) => request.apiKey === personalKey)).toBe(true);
      return { run, attempts: attempts.length, message };
    }

    async function expectFailed(run: ChatRun, code: string, retryable: boolean, deltas: string[] = []) {
      expect(run.typenames).toEqual(['ChatStarted', ...deltas.map(() => 'ChatDelta'), 'ChatFailed']);
      expect(run.deltas).toEqual(deltas);
      expect(run.failed).toMatchObject({ code, retryable });
      const received = run.raw.join('\n');
      expect(received).not.toContain(personalKey);
      expect(received).not.toContain(personalKey.slice(-12));
      expect(received).not.toMatch(/sk-(proj|or)-/);
      const row = await usageRow(run.started!.requestId);
      expect(row).toMatchObject({ status: 'failed', error_code: code, model });
      return row;
    }

    test('401 and 403: INVALID_PROVIDER_KEY, not retried', async () => {
      server().rejectKey(personalKey, 401);
      const rejected = await chatWith();
      expect(rejected.attempts).toBe(1);
      await expectFailed(rejected.run, 'INVALID_PROVIDER_KEY', false);
      server().rejectKey(personalKey, 403);
      const forbidden = await chatWith();
      expect(forbidden.attempts).toBe(1);
      const row = await expectFailed(forbidden.run, 'INVALID_PROVIDER_KEY', false);
      expect(row.input_tokens).toBe(0); // refused before the answer: nothing was billed
    });

    test('429 before the first token is retried after retry-after and then succeeds', async () => {
      const { run, attempts } = await chatWith({ kind: 'http-error', status: 429, retryAfterSeconds: 1 });
      expect(attempts).toBe(2);
      expect(run.completed).toBeDefined();
    });

    test('429 three times: UPSTREAM_RATE_LIMITED after 3 attempts', async () => {
      const limited: OpenAiBehaviour = { kind: 'http-error', status: 429, headers: { 'retry-after-ms': '20' } };
      const { run, attempts } = await chatWith(limited, limited, limited);
      expect(attempts).toBe(3);
      await expectFailed(run, 'UPSTREAM_RATE_LIMITED', true);
    });

    test('5xx: UPSTREAM_ERROR; 400: UPSTREAM_BAD_REQUEST; neither retried', async () => {
      const failed = await chatWith({ kind: 'http-error', status: 503 });
      expect(failed.attempts).toBe(1);
      await expectFailed(failed.run, 'UPSTREAM_ERROR', true);
      const bad = await chatWith({ kind: 'http-error', status: 400, message: 'context_length_exceeded sk-proj-echo' });
      expect(bad.attempts).toBe(1);
      await expectFailed(bad.run, 'UPSTREAM_BAD_REQUEST', false);
    });

    test('a connection dropped before the answer: UPSTREAM_UNREACHABLE', async () => {
      const { run } = await chatWith(
        { kind: 'drop-connection', afterTokens: 'before-headers' },
        { kind: 'drop-connection', afterTokens: 'before-headers' },
        { kind: 'drop-connection', afterTokens: 'before-headers' },
      );
      await expectFailed(run, 'UPSTREAM_UNREACHABLE', true);
    });

    test('cut mid-stream, or before the usage chunk: UPSTREAM_ERROR with the deltas so far', async () => {
      const cut = await chatWith({ kind: 'drop-connection', afterTokens: 2, tokens: ['a', 'b', 'c'] });
      const row = await expectFailed(cut.run, 'UPSTREAM_ERROR', true, ['a', 'b']);
      expect(row.output_tokens).toBe(2);
      const noUsage = await chatWith({ kind: 'drop-connection', afterTokens: 3, tokens: ['a', 'b', 'c'] });
      await expectFailed(noUsage.run, 'UPSTREAM_ERROR', true, ['a', 'b', 'c']);
    });

    test('a stream that ends cleanly but without the usage chunk: UPSTREAM_ERROR, billed as a cut stream', async () => {
      const { run, attempts, message } = await chatWith({ kind: 'stream', tokens: ['a', 'b', 'c'], omitUsage: true });
      expect(attempts).toBe(1);
      const [request] = upstreamOf(message);
      expect(request.body).toMatchObject({ stream_options: { include_usage: true } });
      expect(request.completed).toBe(true); // finish_reason and [DONE] arrived: not a cut connection
      const row = await expectFailed(run, 'UPSTREAM_ERROR', true, ['a', 'b', 'c']);
      // No usage came: output counted from the deltas, input the planner's upper bound (docs/api.md).
      const inputTokens = worstCaseInputTokens({ messages: [{ role: 'user', content: message }] });
      expect(row).toMatchObject({ output_tokens: 3, input_tokens: inputTokens });
      expect(Number(row.cost_usd)).toBeCloseTo(expectedCost(model, inputTokens, 3), 10);
    });

    test('an in-stream error event (OpenRouter’s mid-generation errors): UPSTREAM_ERROR, not retried', async () => {
      const { run, attempts } = await chatWith({
        kind: 'error-event-mid-stream',
        afterTokens: 1,
        tokens: ['x', 'y'],
        code: 429,
        message: `rate limited upstream for ${personalKey}`,
      });
      expect(attempts).toBe(1);
      await expectFailed(run, 'UPSTREAM_ERROR', true, ['x']);
    });

    afterAll(async () => {
      // The gateway keeps serving afterwards.
      server().reset();
      await expectServed(tenant.member.token, 'PERSONAL', { source: 'PERSONAL', key: personalKey });
    });
  });

  test('unsubscribing closes the stalled upstream request; the partial reply’s usage is recorded', async () => {
    server().enqueue({ kind: 'stream', tokens: ['one', ' two', ' three', ' four'], stallAfter: 2 });
    const message = uniqueText('cancel');
    const open = openChat(env.gw, tenant.member.token, { message, model, keySource: 'PERSONAL' });
    try {
      await open.waitForDeltas(2);
      const [request] = upstreamOf(message);
      expect(request.socketClosedAt).toBeUndefined();
      open.unsubscribe();
      // The upstream would never end by itself: only the gateway's abort closes it.
      await waitForClose(request as never, 5_000);
      expect(request.completed).toBe(false);
      const row = await eventualUsageRow(open.run.started!.requestId);
      // No usage chunk came: output counted from the deltas, input the planner's upper bound.
      const inputTokens = worstCaseInputTokens({ messages: [{ role: 'user', content: message }] });
      expect(row).toMatchObject({ status: 'cancelled', output_tokens: 2, input_tokens: inputTokens });
      expect(Number(row.cost_usd)).toBeCloseTo(expectedCost(model, inputTokens, 2), 10);
    } finally {
      await open.dispose();
    }
  });
});
