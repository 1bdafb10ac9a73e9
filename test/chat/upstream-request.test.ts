import { HeldUpstreamCall } from '../../src/chat/held-upstream-call';
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

/**
 * HeldUpstreamCall: a chat's first call is built while its admission is being decided, and sent
 * only once the chat is admitted (docs/architecture.md, "A chat, step by step").
 */
describe.each([
  {
    name: 'Anthropic',
    provider: (): ChatProvider => new AnthropicChat(new AnthropicClients({ baseURL: anthropic.baseURL })),
    server: (): AnthropicServer | OpenAiServer => anthropic,
    model: 'claude-haiku-4-5',
    key: anthropicKey,
  },
  {
    name: 'OpenAI',
    provider: (): ChatProvider =>
      new OpenAiChat(new OpenAiClients({ baseURL: openAi.baseURL }), {
        name: 'OpenAI',
        maxTokensField: 'max_completion_tokens',
      }),
    server: (): AnthropicServer | OpenAiServer => openAi,
    model: 'gpt-5-mini',
    key: openAiKey,
  },
])('$name: a call held until its chat is admitted', ({ provider, server, model, key }) => {
  /** The provider, with each call it was asked for: when, and the promise it returned. */
  function watched() {
    const inner = provider();
    const calls: Array<{ heldUntilSent: boolean; settled: Promise<void> }> = [];
    const outer: ChatProvider = {
      stream(...args) {
        const settled = inner.stream(...args);
        calls.push({ heldUntilSent: args[4] !== undefined, settled });
        return settled;
      },
    };
    return { outer, calls };
  }
  /**
   * A call of its own through `chat`, started after the held one and run to its end: it takes
   * the same steps (client, SDK, fetch), so by then the held call would have been sent too, had
   * anything let it go. Afterwards, the only request the upstream saw is the probe's.
   */
  async function probe(chat: ChatProvider): Promise<void> {
    const { failure } = await call(chat, { identity: 'probe', apiKey: key() }, request(model, 'probe'));
    expect(failure).toBeUndefined();
    expect(server().requests.map((recorded) => JSON.stringify(recorded.body))).toEqual([
      expect.stringContaining('probe'),
    ]);
    server().reset();
  }

  test('is started at once, sent only when released, and streams to whoever released it', async () => {
    const { outer, calls } = watched();
    const apiKey = key();
    const held = new HeldUpstreamCall(outer, { identity: 'platform', apiKey }, request(model, 'held until admitted'));
    // The provider was asked for the call (its SDK builds the request) before any release…
    expect(calls).toEqual([{ heldUntilSent: true, settled: expect.any(Promise) }]);
    // …and nothing left for the upstream.
    await probe(outer);

    const events: ProviderEvent[] = [];
    await held.release(new AbortController().signal, (event) => events.push(event));
    expect(events[0]).toMatchObject({ type: 'start' });
    expect(events.filter((event) => event.type === 'delta').length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ type: 'done' });
    expect(server().requests).toHaveLength(1);
    expect(server().requests[0]).toMatchObject({ apiKey, status: 200 });
    expect(JSON.stringify(server().requests[0].body)).toContain('held until admitted');
  });

  test('discarded (the chat was refused), it is never sent and ends quietly', async () => {
    const { outer, calls } = watched();
    const held = new HeldUpstreamCall(outer, { identity: 'platform', apiKey: key() }, request(model));
    held.discard();
    await expect(calls[0].settled).resolves.toBeUndefined();
    await probe(outer);
  });

  test('released with a signal already aborted (the client left while it was admitted), nothing is sent', async () => {
    const chat = provider();
    const held = new HeldUpstreamCall(chat, { identity: 'platform', apiKey: key() }, request(model));
    const controller = new AbortController();
    controller.abort();
    const events: ProviderEvent[] = [];
    await held.release(controller.signal, (event) => events.push(event));
    expect(events).toEqual([]);
    await probe(chat);
  });

  test('aborted after its release, the upstream socket closes at once', async () => {
    server().setBehaviour({ kind: 'hang' });
    const held = new HeldUpstreamCall(provider(), { identity: 'platform', apiKey: key() }, request(model));
    const controller = new AbortController();
    const pending = held.release(controller.signal, () => {});
    const [record] = await server().waitForRequests(1);
    expect(await closedAfterAbort(controller, record)).toBeLessThan(CLOSED_WITHIN_MS);
    await expect(pending).resolves.toBeUndefined();
  });
});
