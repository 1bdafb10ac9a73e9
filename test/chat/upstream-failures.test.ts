import { type Behaviour, type RecordedRequest } from '../support/anthropic-server';
import {
  chat,
  chatTenant,
  expectedCost,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  usageRow,
  type ChatEnvironment,
  type ChatRun,
  type ChatTenant,
} from '../support/chat-harness';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';

/**
 * How upstream failures end a chat (docs/api.md "ChatFailed.code"): the code, whether it is
 * retryable, how many upstream attempts were made, what the client saw, what was recorded, and
 * that the gateway keeps serving afterwards.
 */

let env: ChatEnvironment;
let tenant: ChatTenant;
let key: string;
const TOKENS = ['Alpha', ' bravo', ' charlie', ' delta', ' echo', ' foxtrot'];

beforeAll(async () => {
  env = await startChatEnvironment();
  tenant = await chatTenant(env.gw);
  key = anthropicKey();
  await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', key);
});

beforeEach(() => env.anthropic.reset());

afterAll(async () => {
  await env?.stop();
});

/** Runs one chat whose upstream answers with `behaviours` in turn (then the default echo). */
async function chatWith(
  ...behaviours: Behaviour[]
): Promise<{ run: ChatRun; message: string; attempts: number; requests: RecordedRequest[] }> {
  env.anthropic.enqueue(...behaviours);
  const message = uniqueText('fail');
  const run = await chat(env.gw, tenant.member.token, { message });
  expect(run.errors).toBeUndefined();
  expect(run.started).toMatchObject({ keySource: 'PERSONAL', model: 'claude-haiku-4-5' });
  const attempts = upstreamFor(env.anthropic, message);
  // Every attempt used the caller's key.
  expect(attempts.every((request) => request.apiKey === key)).toBe(true);
  return { run, message, attempts: attempts.length, requests: attempts };
}

/** ChatStarted, optional deltas, then exactly one ChatFailed with `code`; nothing of the key in it. */
function expectFailed(run: ChatRun, code: string, retryable: boolean, deltas: string[] = []) {
  expect(run.typenames).toEqual(['ChatStarted', ...deltas.map(() => 'ChatDelta'), 'ChatFailed']);
  expect(run.deltas).toEqual(deltas);
  expect(run.failed).toMatchObject({ code, retryable });
  expect(run.failed!.message.length).toBeGreaterThan(0);
  const received = run.raw.join('\n');
  expect(received).not.toContain(key);
  expect(received).not.toContain(key.slice(-12));
  expect(received).not.toMatch(/sk-ant-/);
}

/** A failed request leaves a 'failed' usage row with its error code. */
async function expectFailedUsage(run: ChatRun, code: string) {
  const row = await usageRow(run.started!.requestId);
  expect(row).toMatchObject({ status: 'failed', error_code: code, key_source: 'PERSONAL', model: 'claude-haiku-4-5' });
  return row;
}

/** The gateway still serves: the next chat completes. */
async function expectStillServing() {
  const message = uniqueText('after');
  const run = await chat(env.gw, tenant.member.token, { message });
  expect(run.completed).toBeDefined();
  expect(run.text).toBe(`Echo: ${message}`);
}

describe.each([401, 403])('HTTP %i', (status) => {
  test('→ INVALID_PROVIDER_KEY, not retryable, not retried', async () => {
    const { run, attempts } = await chatWith({ kind: 'http-error', status });
    expectFailed(run, 'INVALID_PROVIDER_KEY', false);
    expect(attempts).toBe(1);
    await expectFailedUsage(run, 'INVALID_PROVIDER_KEY');
    await expectStillServing();
  });
});

test('a key the provider rejects (rejectKey) → INVALID_PROVIDER_KEY', async () => {
  env.anthropic.rejectKey(key, 401);
  const message = uniqueText('revoked');
  const run = await chat(env.gw, tenant.member.token, { message });
  expectFailed(run, 'INVALID_PROVIDER_KEY', false);
  expect(upstreamFor(env.anthropic, message)).toHaveLength(1);
  env.anthropic.reset();
  await expectStillServing();
});

describe('429 before the first token', () => {
  test('with retry-after 1 is retried and the second attempt completes', async () => {
    const { run, message, attempts } = await chatWith({ kind: 'http-error', status: 429, retryAfterSeconds: 1 });
    expect(attempts).toBe(2);
    expect(run.typenames[run.typenames.length - 1]).toBe('ChatCompleted');
    expect(run.text).toBe(`Echo: ${message}`);
    expect(await usageRow(run.started!.requestId)).toMatchObject({ status: 'completed', error_code: null });
  });

  test('three times → UPSTREAM_RATE_LIMITED, retryable, after exactly 3 attempts', async () => {
    const limited: Behaviour = { kind: 'http-error', status: 429, retryAfterMs: 20 };
    const { run, attempts } = await chatWith(limited, limited, limited, limited);
    expectFailed(run, 'UPSTREAM_RATE_LIMITED', true);
    expect(attempts).toBe(3);
    await expectFailedUsage(run, 'UPSTREAM_RATE_LIMITED');
    await expectStillServing();
  });
});

describe('529 before the first token', () => {
  test('once is retried and the second attempt completes', async () => {
    const { run, attempts } = await chatWith({ kind: 'http-error', status: 529, retryAfterMs: 20 });
    expect(attempts).toBe(2);
    expect(run.completed).toBeDefined();
  });

  test('three times → UPSTREAM_OVERLOADED, retryable, after exactly 3 attempts', async () => {
    const overloaded: Behaviour = { kind: 'http-error', status: 529, retryAfterMs: 20 };
    const { run, attempts } = await chatWith(overloaded, overloaded, overloaded, overloaded);
    expectFailed(run, 'UPSTREAM_OVERLOADED', true);
    expect(attempts).toBe(3);
    await expectFailedUsage(run, 'UPSTREAM_OVERLOADED');
    await expectStillServing();
  });
});

test('500 → UPSTREAM_ERROR, retryable, not retried', async () => {
  const { run, attempts } = await chatWith({ kind: 'http-error', status: 500 });
  expectFailed(run, 'UPSTREAM_ERROR', true);
  expect(attempts).toBe(1);
  await expectFailedUsage(run, 'UPSTREAM_ERROR');
  await expectStillServing();
});

test.each([400, 404, 413])('%i → UPSTREAM_BAD_REQUEST, not retryable, not retried', async (status) => {
  const { run, attempts } = await chatWith({ kind: 'http-error', status });
  expectFailed(run, 'UPSTREAM_BAD_REQUEST', false);
  expect(attempts).toBe(1);
  await expectFailedUsage(run, 'UPSTREAM_BAD_REQUEST');
});

test('a connection dropped before the headers → UPSTREAM_UNREACHABLE, retryable, not retried', async () => {
  const dropped: Behaviour = { kind: 'drop-connection', afterTokens: 'before-headers' };
  env.anthropic.setBehaviour(dropped);
  const { run, requests } = await chatWith();
  expectFailed(run, 'UPSTREAM_UNREACHABLE', true);
  // The chat is not retried. The only second sends are the connection pool's: a request cut off
  // on a pooled keep-alive connection goes once more on another (at most twice); the last try is
  // the one that failed the chat.
  expect(requests.length).toBeLessThanOrEqual(3);
  expect(requests.slice(0, -1).every((request) => request.reusedConnection)).toBe(true);
  const row = await expectFailedUsage(run, 'UPSTREAM_UNREACHABLE');
  expect(row).toMatchObject({ ttft_ms: null, output_tokens: 0 });
  // The log says what the network said; the client's message does not.
  const logged = env.gw.logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(
    logged.find((line) => line.requestId === run.started!.requestId && line.msg === 'upstream failed'),
  ).toMatchObject({
    code: 'UPSTREAM_UNREACHABLE',
    networkCode: 'ECONNRESET',
  });
  env.anthropic.setBehaviour(undefined);
  await expectStillServing();
});

test('a pooled connection closed under the request, before the headers: sent again on another connection, the chat completes', async () => {
  await expectStillServing(); // leaves a keep-alive connection in the gateway's pool
  const { run, requests } = await chatWith({ kind: 'drop-connection', afterTokens: 'before-headers' });
  expect(run.completed).toBeDefined();
  expect(run.text).toMatch(/^Echo: /);
  expect(requests).toHaveLength(2);
  expect(requests[0].reusedConnection).toBe(true);
  expect(requests[1].remotePort).not.toBe(requests[0].remotePort);
  expect(await usageRow(run.started!.requestId)).toMatchObject({ status: 'completed', error_code: null });
});

test('an error event mid-stream → ChatFailed after the deltas already sent, not retried', async () => {
  const { run, attempts } = await chatWith({ kind: 'error-event-mid-stream', afterTokens: 3, tokens: TOKENS });
  expectFailed(run, 'UPSTREAM_ERROR', true, TOKENS.slice(0, 3));
  expect(attempts).toBe(1);
  const row = await expectFailedUsage(run, 'UPSTREAM_ERROR');
  // The partial reply is kept; its output is counted from the deltas.
  expect(row.output_tokens).toBe(3);
  expect(row.ttft_ms).not.toBeNull();
  await expectStillServing();
});

test.each(['rate_limit_error', 'api_error', 'authentication_error'])(
  'an error event of type %s mid-stream is UPSTREAM_ERROR too: the request failed part-way, it was not refused',
  async (errorType) => {
    const { run, attempts } = await chatWith({
      kind: 'error-event-mid-stream',
      afterTokens: 2,
      tokens: TOKENS,
      errorType,
    });
    expectFailed(run, 'UPSTREAM_ERROR', true, TOKENS.slice(0, 2));
    expect(attempts).toBe(1);
  },
);

test('an error event before the first delta (after the 200 and message_start) → UPSTREAM_ERROR, not retried', async () => {
  const { run, attempts } = await chatWith({ kind: 'error-event-mid-stream', afterTokens: 0, tokens: TOKENS });
  expectFailed(run, 'UPSTREAM_ERROR', true);
  expect(attempts).toBe(1);
  expect(await expectFailedUsage(run, 'UPSTREAM_ERROR')).toMatchObject({ ttft_ms: null, output_tokens: 0 });
});

test('a connection dropped after tokens (a truncated stream) → UPSTREAM_ERROR after those deltas, not retried', async () => {
  const { run, attempts } = await chatWith({ kind: 'drop-connection', afterTokens: 2, tokens: TOKENS });
  expectFailed(run, 'UPSTREAM_ERROR', true, TOKENS.slice(0, 2));
  expect(attempts).toBe(1);
  const row = await expectFailedUsage(run, 'UPSTREAM_ERROR');
  expect(row.output_tokens).toBe(2);
  expect(row.cost_usd).toBeCloseTo(expectedCost('claude-haiku-4-5', row.input_tokens, 2), 12);
  await expectStillServing();
});
