import { AnthropicChat } from '../../src/providers/anthropic/anthropic-chat';
import { AnthropicClients } from '../../src/providers/anthropic/anthropic-clients';
import { OpenAiChat } from '../../src/providers/openai/openai-chat';
import { OpenAiClients } from '../../src/providers/openai/openai-clients';
import {
  UpstreamFailure,
  type ChatProvider,
  type ProviderEvent,
  type ProviderRequest,
} from '../../src/providers/provider-stream';
import { startAnthropicServer, waitForClose, type AnthropicServer } from '../support/anthropic-server';
import { anthropicKey, openAiKey } from '../support/fixtures';
import { startOpenAiServer, type OpenAiServer } from '../support/openai-server';

/**
 * The upstream request of each provider adapter, as the chat service makes it: the SDK client of
 * the key (cached per key, with its auth headers and URLs built once), node-http-fetch under it,
 * and the caller's signal handed to the fetch directly. Against the local protocol servers: what
 * the upstream receives on every call, how aborting and the client's timeout close the upstream
 * socket, and how an error answer is classified. The chat suites cover the same end to end.
 */

/** The bound docs/api.md sets on closing the upstream socket after a cancel ("at once"). */
const CLOSED_WITHIN_MS = 100;

let anthropic: AnthropicServer;
let openAi: OpenAiServer;

beforeAll(async () => {
  [anthropic, openAi] = await Promise.all([startAnthropicServer(), startOpenAiServer('openai')]);
});

afterAll(async () => {
  await Promise.all([anthropic?.close(), openAi?.close()]);
});

beforeEach(() => {
  anthropic.reset();
  openAi.reset();
});

const request = (model: string, content = 'Hello'): ProviderRequest => ({
  model,
  messages: [{ role: 'user', content }],
  maxTokens: 256,
});

/** One call: its events, and how it ended (resolved, or the UpstreamFailure it threw). */
async function call(
  provider: ChatProvider,
  key: { identity: string; apiKey: string },
  providerRequest: ProviderRequest,
  signal = new AbortController().signal,
  onEvent: (event: ProviderEvent) => void = () => {},
): Promise<{ events: ProviderEvent[]; failure?: UpstreamFailure }> {
  const events: ProviderEvent[] = [];
  try {
    await provider.stream(key, providerRequest, signal, (event) => {
      events.push(event);
      onEvent(event);
    });
    return { events };
  } catch (error) {
    if (!(error instanceof UpstreamFailure)) throw error;
    return { events, failure: error };
  }
}

/** Milliseconds from `abort()` to the upstream seeing the socket close. */
async function closedAfterAbort(controller: AbortController, record: Parameters<typeof waitForClose>[0]) {
  const abortedAt = performance.now();
  controller.abort();
  const closedAt = await waitForClose(record);
  return closedAt - abortedAt;
}

describe('Anthropic', () => {
  const chat = (options: ConstructorParameters<typeof AnthropicClients>[0] = {}) =>
    new AnthropicChat(new AnthropicClients({ baseURL: anthropic.baseURL, ...options }));

  test('every call of a cached client presents that client’s own key, with the headers the API needs', async () => {
    const provider = chat();
    const first = { identity: 'cred-1:1', apiKey: anthropicKey() };
    const second = { identity: 'cred-2:1', apiKey: anthropicKey() };
    for (const key of [first, second, first, second]) {
      const { events, failure } = await call(provider, key, request('claude-haiku-4-5'));
      expect(failure).toBeUndefined();
      expect(events.at(-1)).toMatchObject({ type: 'done', stopReason: 'end_turn' });
    }
    expect(anthropic.requests.map((r) => r.apiKey)).toEqual([first.apiKey, second.apiKey, first.apiKey, second.apiKey]);
    for (const recorded of anthropic.requests) {
      expect(recorded).toMatchObject({ method: 'POST', path: '/v1/messages', status: 200 });
      expect(recorded.headers['anthropic-version']).toEqual(expect.any(String));
      expect(recorded.headers['content-type']).toBe('application/json');
      expect(recorded.headers['x-stainless-retry-count']).toBe('0');
      expect(recorded.body).toMatchObject({ model: 'claude-haiku-4-5', stream: true, max_tokens: 256 });
    }
  });

  test('a call with a query goes out with its own query, and each path to its own URL', async () => {
    const client = new AnthropicClients({ baseURL: anthropic.baseURL }).get('cred-1:1', anthropicKey());
    const { data } = await client.models.list({ limit: 1 });
    await client.models.list({ limit: 2 });
    await client.models.retrieve(data[0].id);
    await client.models.list({ limit: 3 });
    expect(anthropic.requests.map((r) => `${r.path}?${r.query.toString()}`)).toEqual([
      '/v1/models?limit=1',
      '/v1/models?limit=2',
      `/v1/models/${data[0].id}?`,
      '/v1/models?limit=3',
    ]);
    expect(anthropic.requests.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  test('aborting before the answer: the call resolves without events and the upstream socket closes at once', async () => {
    anthropic.setBehaviour({ kind: 'hang' });
    const controller = new AbortController();
    const pending = call(
      chat(),
      { identity: 'platform', apiKey: anthropicKey() },
      request('claude-haiku-4-5'),
      controller.signal,
    );
    const [record] = await anthropic.waitForRequests(1);
    expect(await closedAfterAbort(controller, record)).toBeLessThan(CLOSED_WITHIN_MS);
    expect(await pending).toEqual({ events: [] });
  });

  test('aborting mid-stream: the call resolves with what came and the upstream socket closes at once', async () => {
    anthropic.setBehaviour({ kind: 'stream', tokens: ['a', ' b', ' c', ' d'], stallAfter: 2 });
    const controller = new AbortController();
    let secondDelta: () => void = () => {};
    const twoDeltas = new Promise<void>((resolve) => (secondDelta = resolve));
    let deltas = 0;
    const pending = call(
      chat(),
      { identity: 'platform', apiKey: anthropicKey() },
      request('claude-haiku-4-5'),
      controller.signal,
      (event) => {
        if (event.type === 'delta' && ++deltas === 2) secondDelta();
      },
    );
    await twoDeltas;
    const [record] = anthropic.requests;
    expect(await closedAfterAbort(controller, record)).toBeLessThan(CLOSED_WITHIN_MS);
    const { events, failure } = await pending;
    expect(failure).toBeUndefined();
    expect(events.map((event) => event.type)).toEqual(['start', 'delta', 'delta']);
    expect(record.completed).toBe(false);
  });

  test('a signal aborted before the call sends nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    expect(
      await call(
        chat(),
        { identity: 'platform', apiKey: anthropicKey() },
        request('claude-haiku-4-5'),
        controller.signal,
      ),
    ).toEqual({ events: [] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(anthropic.requests).toHaveLength(0);
  });

  test('the client’s timeout still ends a call whose answer never starts, and closes its socket', async () => {
    anthropic.setBehaviour({ kind: 'hang' });
    const pending = call(
      chat({ timeoutMs: 300 }),
      { identity: 'platform', apiKey: anthropicKey() },
      request('claude-haiku-4-5'),
    );
    const [record] = await anthropic.waitForRequests(1);
    const { events, failure } = await pending;
    expect(events).toEqual([]);
    expect(failure).toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
    await waitForClose(record);
  });

  test('an error answer before the stream is classified by its status', async () => {
    anthropic.setBehaviour({ kind: 'http-error', status: 429, retryAfterSeconds: 2 });
    const { failure } = await call(
      chat(),
      { identity: 'platform', apiKey: anthropicKey() },
      request('claude-haiku-4-5'),
    );
    expect(failure).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', status: 429, retryAfterMs: 2000, retryable: true });
  });
});

describe('OpenAI', () => {
  const chat = (options: Partial<ConstructorParameters<typeof OpenAiClients>[0]> = {}) =>
    new OpenAiChat(new OpenAiClients({ baseURL: openAi.baseURL, ...options }), {
      name: 'OpenAI',
      maxTokensField: 'max_completion_tokens',
    });

  test('every call of a cached client presents that client’s own key', async () => {
    const provider = chat();
    const first = { identity: 'cred-1:1', apiKey: openAiKey() };
    const second = { identity: 'cred-2:1', apiKey: openAiKey() };
    for (const key of [first, second, first, second]) {
      const { events, failure } = await call(provider, key, request('gpt-5-mini'));
      expect(failure).toBeUndefined();
      expect(events.at(-1)).toMatchObject({ type: 'done', stopReason: 'stop' });
    }
    expect(openAi.requests.map((r) => r.apiKey)).toEqual([first.apiKey, second.apiKey, first.apiKey, second.apiKey]);
    for (const recorded of openAi.requests) {
      expect(recorded).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200 });
      expect(recorded.headers['content-type']).toBe('application/json');
      expect(recorded.body).toMatchObject({ model: 'gpt-5-mini', stream: true, max_completion_tokens: 256 });
    }
  });

  test('aborting before the answer: the call resolves without events and the upstream socket closes at once', async () => {
    openAi.setBehaviour({ kind: 'hang' });
    const controller = new AbortController();
    const pending = call(
      chat(),
      { identity: 'platform', apiKey: openAiKey() },
      request('gpt-5-mini'),
      controller.signal,
    );
    const [record] = await openAi.waitForRequests(1);
    expect(await closedAfterAbort(controller, record)).toBeLessThan(CLOSED_WITHIN_MS);
    expect(await pending).toEqual({ events: [] });
  });

  test('the client’s timeout still ends a call whose answer never starts', async () => {
    openAi.setBehaviour({ kind: 'hang' });
    const { events, failure } = await call(
      chat({ timeoutMs: 300 }),
      { identity: 'platform', apiKey: openAiKey() },
      request('gpt-5-mini'),
    );
    expect(events).toEqual([]);
    expect(failure).toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
  });

  test('an error answer before the stream is classified by its status', async () => {
    const rejected = openAiKey();
    openAi.rejectKey(rejected, 401);
    const { failure } = await call(chat(), { identity: 'platform', apiKey: rejected }, request('gpt-5-mini'));
    expect(failure).toMatchObject({ code: 'INVALID_PROVIDER_KEY', status: 401 });
  });
});
