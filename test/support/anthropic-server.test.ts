import Anthropic, {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  OverloadedError,
  PermissionDeniedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import { estimateInputTokens, startAnthropicServer, waitForClose, type AnthropicServer } from './anthropic-server';

const MODEL = 'claude-sonnet-5-5';
const KEY = 'sk-ant-test-key';

let server: AnthropicServer;

beforeAll(async () => {
  server = await startAnthropicServer();
});

beforeEach(() => server.reset());

afterAll(async () => {
  await server.close();
});

function client(options: { apiKey?: string; maxRetries?: number; timeout?: number } = {}): Anthropic {
  return new Anthropic({ apiKey: KEY, baseURL: server.baseURL, maxRetries: 0, logLevel: 'off', ...options });
}

function params(text = 'Hello there', extra: { max_tokens?: number } = {}) {
  return { model: MODEL, max_tokens: 256, messages: [{ role: 'user' as const, content: text }], ...extra };
}

/** Rejects with the promise's error; fails if it resolves. */
async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('streaming Messages API', () => {
  it('streams one text delta per token and a final message with usage and stop reason', async () => {
    server.enqueue({ kind: 'stream', tokens: ['Hel', 'lo', ', ', 'world'], inputTokens: 42, stopReason: 'max_tokens' });
    const stream = client().messages.stream(params('hi'));
    const deltas: string[] = [];
    const eventTypes: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    stream.on('streamEvent', (event) => eventTypes.push(event.type));

    const message = await stream.finalMessage();

    expect(deltas).toEqual(['Hel', 'lo', ', ', 'world']);
    expect(eventTypes).toEqual([
      'message_start',
      'content_block_start',
      ...Array(4).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(message.id).toMatch(/^msg_/);
    expect(message.model).toBe(MODEL);
    expect(message.content).toEqual([{ type: 'text', text: 'Hello, world', citations: null }]);
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage).toMatchObject({ input_tokens: 42, output_tokens: 4 });

    const [record] = server.requests;
    expect(stream.request_id).toBe(record.requestId);
    expect(record).toMatchObject({ method: 'POST', path: '/v1/messages', apiKey: KEY, completed: true, status: 200 });
    expect(record.body).toMatchObject({ model: MODEL, stream: true, max_tokens: 256 });
    expect(record.headers['anthropic-version']).toBeDefined();
    expect(record.tokensSent).toBe(4);
  });

  it('defaults to an echo of the last user message, deterministic usage, and keeps concurrent replies apart', async () => {
    server.setBehaviour({ kind: 'stream', delayMs: 5 });
    const texts = ['alpha one', 'bravo two three', 'charlie', 'delta four five six', 'echo seven', 'foxtrot'];

    const finals = await Promise.all(
      texts.map((text, i) =>
        client({ apiKey: `sk-ant-user-${i}` })
          .messages.stream(params(text))
          .finalMessage(),
      ),
    );

    finals.forEach((message, i) => {
      expect(message.content).toEqual([{ type: 'text', text: `Echo: ${texts[i]}`, citations: null }]);
      expect(message.usage.output_tokens).toBe(`Echo: ${texts[i]}`.split(' ').length);
      expect(message.usage.input_tokens).toBe(estimateInputTokens(params(texts[i])));
    });
    expect(server.requests).toHaveLength(texts.length);
    for (const record of server.requests) {
      const i = Number(record.apiKey?.replace('sk-ant-user-', ''));
      expect(record.body?.messages).toEqual([{ role: 'user', content: texts[i] }]);
    }
  });

  it('frames events on the wire exactly like the API, ping included', async () => {
    server.enqueue({ kind: 'stream', tokens: ['a', 'b'] });
    const response = await fetch(`${server.baseURL}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ ...params(), stream: true }),
    });
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    const events = text
      .split('\n\n')
      .filter(Boolean)
      .map((chunk) => chunk.split('\n'));
    for (const [eventLine, dataLine, ...rest] of events) {
      expect(rest).toEqual([]);
      expect(JSON.parse(dataLine.replace(/^data: /, '')).type).toBe(eventLine.replace(/^event: /, ''));
    }
    expect(events.map(([eventLine]) => eventLine)).toEqual([
      'event: message_start',
      'event: content_block_start',
      'event: ping',
      'event: content_block_delta',
      'event: content_block_delta',
      'event: content_block_stop',
      'event: message_delta',
      'event: message_stop',
    ]);
    expect(server.requests[0].apiKeySource).toBe('x-api-key');
  });

  it('keeps connections alive between sequential requests', async () => {
    const sdk = client();
    for (let i = 0; i < 3; i++) {
      await sdk.messages.create(params('json'));
      await sdk.messages.stream(params('sse')).finalMessage();
    }

    const ports = server.requests.map((record) => record.remotePort);
    expect(ports).toHaveLength(6);
    // undici may open a second socket while the first is being released, but it reuses them.
    expect(new Set(ports).size).toBeLessThanOrEqual(2);
  });
});

describe('non-streaming Messages API', () => {
  it('returns the JSON Message', async () => {
    server.enqueue({ kind: 'stream', tokens: ['Four', ' score'], outputTokens: 9, stopReason: 'stop_sequence' });
    const message = await client().messages.create(params('count'));

    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: MODEL,
      content: [{ type: 'text', text: 'Four score' }],
      stop_reason: 'stop_sequence',
      usage: { input_tokens: estimateInputTokens(params('count')), output_tokens: 9 },
    });
    expect(message.id).toMatch(/^msg_/);
    expect(server.requests[0].body?.stream).toBeUndefined();
  });

  it('answers 400 invalid_request_error for a body the API would refuse, without consuming a behaviour', async () => {
    server.enqueue({ kind: 'http-error', status: 500 });
    const noMaxTokens = { model: MODEL, messages: [{ role: 'user' as const, content: 'x' }] };

    const error = await errorOf(
      client({ maxRetries: 2 }).messages.create(noMaxTokens as unknown as ReturnType<typeof params>),
    );

    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      apiMessage: 'max_tokens: Field required',
    });
    expect(server.requests).toHaveLength(1);
    // The queued 500 is still there for the next valid request.
    await expect(client().messages.create(params())).rejects.toBeInstanceOf(InternalServerError);
  });

  it.each([
    [{ max_tokens: 1, messages: [] }, 'model: Field required'],
    [{ model: MODEL, max_tokens: 1 }, 'messages: Field required'],
    [{ model: MODEL, max_tokens: 1, messages: [] }, 'messages: at least one message is required'],
  ])('validates %j', async (body, message) => {
    const response = await fetch(`${server.baseURL}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message } });
  });

  it('requires the anthropic-version header', async () => {
    const response = await fetch(`${server.baseURL}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify(params()),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { message: 'anthropic-version: header is required' } });
  });
});

describe('authentication', () => {
  it('lists models with an accepted key, following pagination', async () => {
    const page = await client().models.list();
    expect(page.data.map((model) => model.id)).toEqual([
      'claude-opus-5-5',
      'claude-sonnet-5-5',
      'claude-haiku-5-5',
      'claude-sonnet-4-6',
    ]);
    expect(page.has_more).toBe(false);
    expect(page.first_id).toBe('claude-opus-5-5');
    expect(page.last_id).toBe('claude-sonnet-4-6');
    expect(page.data[0]).toMatchObject({ type: 'model', lifecycle: 'active' });

    server.reset();
    const ids: string[] = [];
    for await (const model of client().models.list({ limit: 3 })) ids.push(model.id);
    expect(ids).toHaveLength(4);
    expect(server.requests.map((record) => record.query.get('after_id'))).toEqual([null, 'claude-haiku-5-5']);
  });

  it('throws AuthenticationError for a key the server does not accept, without retrying', async () => {
    const error = await errorOf(client({ apiKey: 'not-an-anthropic-key', maxRetries: 2 }).models.list());

    expect(error).toBeInstanceOf(AuthenticationError);
    const [record] = server.requests;
    expect(server.requests).toHaveLength(1);
    expect(error).toMatchObject({
      status: 401,
      type: 'authentication_error',
      apiMessage: 'invalid x-api-key',
      requestID: record.requestId,
      error: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
    });
    // @anthropic-ai/sdk 1.x sends the key as a bearer token.
    expect(record).toMatchObject({ apiKey: 'not-an-anthropic-key', apiKeySource: 'authorization', status: 401 });
  });

  it('answers 401 with a request-id when no key is sent', async () => {
    const response = await fetch(`${server.baseURL}/v1/models`, { headers: { 'anthropic-version': '2023-06-01' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('honours acceptKeys and rejectKey (401 and 403)', async () => {
    server.acceptKeys((key) => key === 'custom-key' || key === 'sk-ant-forbidden' || key === 'sk-ant-revoked');
    server.rejectKey('sk-ant-forbidden', 403);
    server.rejectKey('sk-ant-revoked');

    await expect(client({ apiKey: 'custom-key' }).messages.create(params())).resolves.toMatchObject({
      type: 'message',
    });
    await expect(client().messages.create(params())).rejects.toBeInstanceOf(AuthenticationError);
    await expect(client({ apiKey: 'sk-ant-revoked' }).models.list()).rejects.toBeInstanceOf(AuthenticationError);
    const forbidden = await errorOf(client({ apiKey: 'sk-ant-forbidden' }).messages.create(params()));
    expect(forbidden).toBeInstanceOf(PermissionDeniedError);
    expect(forbidden).toMatchObject({ status: 403, type: 'permission_error' });

    server.reset();
    await expect(client({ apiKey: 'custom-key' }).models.list()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(client({ apiKey: 'sk-ant-forbidden' }).models.list()).resolves.toBeDefined();
  });

  it('returns 403 permission_error from an http-error behaviour as PermissionDeniedError', async () => {
    server.enqueue({ kind: 'http-error', status: 403 });
    const error = await errorOf(client({ maxRetries: 2 }).messages.create(params()));
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect(server.requests).toHaveLength(1);
  });
});

describe('errors and retries', () => {
  it('retries a 429 after the retry-after delay and succeeds on the second attempt', async () => {
    server.enqueue({ kind: 'http-error', status: 429, retryAfterSeconds: 1 });
    const message = await client({ maxRetries: 1 }).messages.stream(params('again')).finalMessage();

    expect(message.content).toEqual([{ type: 'text', text: 'Echo: again', citations: null }]);
    const [limited, retried] = server.requests;
    expect(server.requests).toHaveLength(2);
    expect(limited.status).toBe(429);
    expect(retried.status).toBe(200);
    expect(limited.headers['x-stainless-retry-count']).toBe('0');
    expect(retried.headers['x-stainless-retry-count']).toBe('1');
    // The SDK's own first backoff is at most 500 ms, so a ~1 s gap means it obeyed retry-after.
    expect(retried.receivedAt - (limited.socketClosedAt ?? Infinity)).toBeGreaterThanOrEqual(900);
  });

  it('throws RateLimitError when the 429 persists', async () => {
    server.enqueue(
      { kind: 'http-error', status: 429, retryAfterMs: 10 },
      { kind: 'http-error', status: 429, retryAfterMs: 10 },
    );
    const error = await errorOf(client({ maxRetries: 1 }).messages.create(params()));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ type: 'rate_limit_error' });
    expect(server.requests).toHaveLength(2);
  });

  it('maps 529 to OverloadedError (an InternalServerError the SDK retries)', async () => {
    server.enqueue({ kind: 'http-error', status: 529 });
    const error = await errorOf(client().messages.create(params()));
    expect(error).toBeInstanceOf(OverloadedError);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ status: 529, type: 'overloaded_error', requestID: server.requests[0].requestId });

    server.reset();
    server.enqueue(
      { kind: 'http-error', status: 529, retryAfterMs: 10 },
      { kind: 'http-error', status: 529, retryAfterMs: 10 },
    );
    await expect(client({ maxRetries: 1 }).messages.create(params())).rejects.toBeInstanceOf(OverloadedError);
    expect(server.requests).toHaveLength(2);

    server.reset();
    server.enqueue({ kind: 'http-error', status: 529, shouldRetry: false });
    await expect(client({ maxRetries: 2 }).messages.create(params())).rejects.toBeInstanceOf(OverloadedError);
    expect(server.requests).toHaveLength(1);
  });

  it('makes the SDK stream throw an APIError when an error event arrives mid-stream', async () => {
    server.enqueue({ kind: 'error-event-mid-stream', afterTokens: 2, tokens: ['one', ' two', ' three', ' four'] });
    const stream = client({ maxRetries: 2 }).messages.stream(params());
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));

    const error = await errorOf(stream.finalMessage());

    expect(deltas).toEqual(['one', ' two']);
    expect(error).toBeInstanceOf(APIError);
    // An error event is not an HTTP error: no status, so not an OverloadedError, and never retried.
    expect(error).not.toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({
      status: undefined,
      type: 'overloaded_error',
      requestID: server.requests[0].requestId,
      error: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ completed: true, tokensSent: 2 });
  });

  it('surfaces a connection dropped mid-stream as a socket error after the first tokens', async () => {
    server.enqueue({ kind: 'drop-connection', afterTokens: 2, tokens: ['a', 'b', 'c', 'd'] });
    const stream = client({ maxRetries: 2 }).messages.stream(params());
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));

    const error = await errorOf(stream.finalMessage());

    expect(deltas).toEqual(['a', 'b']);
    // A failure after the headers is not an APIConnectionError: MessageStream wraps undici's
    // TypeError('terminated') in a plain AnthropicError (under jest's vm realm the message becomes
    // 'TypeError: terminated' and the cause is dropped).
    expect(error).toBeInstanceOf(AnthropicError);
    expect(error).not.toBeInstanceOf(APIError);
    expect((error as Error).message).toMatch(/terminated/);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({ completed: false, tokensSent: 2 });
  });

  it('surfaces a connection dropped before headers as APIConnectionError, after retrying it', async () => {
    server.setBehaviour({ kind: 'drop-connection', afterTokens: 'before-headers' });
    const error = await errorOf(client({ maxRetries: 1 }).messages.create(params()));

    expect(error).toBeInstanceOf(APIConnectionError);
    expect(server.requests).toHaveLength(2);
    expect(server.requests.every((record) => record.status === undefined && !record.completed)).toBe(true);
  });

  it('lets a behaviour function pick per request', async () => {
    server.setBehaviour((request) =>
      request.apiKey === 'sk-ant-overloaded' ? { kind: 'http-error', status: 529 } : undefined,
    );
    await expect(client({ apiKey: 'sk-ant-overloaded' }).messages.create(params())).rejects.toBeInstanceOf(
      OverloadedError,
    );
    await expect(client().messages.create(params('fine'))).resolves.toMatchObject({
      content: [{ type: 'text', text: 'Echo: fine' }],
    });
  });
});

describe('client disconnects', () => {
  // The streams below stall or hang for minutes, so a recorded close can only come from the client.
  it('records the socket close when the SDK stream is aborted', async () => {
    server.enqueue({ kind: 'stream', tokens: ['a', 'b', 'c', 'd', 'e', 'f'], delayMs: 150, stallAfter: 1 });
    const stream = client().messages.stream(params());
    const outcome = stream.finalMessage().catch((error: unknown) => error);
    await new Promise<void>((resolve) => stream.once('text', () => resolve()));
    const [record] = server.requests;

    stream.abort();
    await waitForClose(record, 10_000);

    expect(record.completed).toBe(false);
    expect(record.tokensSent).toBe(1);
    expect(await outcome).toBeInstanceOf(APIUserAbortError);
    expect(stream.aborted).toBe(true);
  });

  it('records the close when an AbortSignal cancels a hanging request', async () => {
    server.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const pending = errorOf(client().messages.create(params(), { signal: controller.signal }));
    const [record] = await server.waitForRequests(1);

    controller.abort();

    expect(await pending).toBeInstanceOf(APIUserAbortError);
    await waitForClose(record, 10_000);
    expect(record).toMatchObject({ status: undefined, completed: false });
  });

  it('times out a hanging request with APIConnectionTimeoutError', async () => {
    server.setBehaviour({ kind: 'hang' });
    const error = await errorOf(client({ timeout: 150 }).messages.create(params()));

    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
    const [record] = server.requests;
    expect(await waitForClose(record, 10_000)).toBeGreaterThan(record.receivedAt);
  });

  it('close() ends open SSE streams instead of waiting for them', async () => {
    const own = await startAnthropicServer();
    own.enqueue({ kind: 'stream', tokens: ['never', 'sent'], stallAfter: 0 });
    const sdk = new Anthropic({ apiKey: KEY, baseURL: own.baseURL, maxRetries: 0, logLevel: 'off' });
    const stream = sdk.messages.stream(params());
    const outcome = stream.finalMessage().catch((error: unknown) => error);
    await new Promise<void>((resolve) => stream.once('connect', () => resolve()));

    await own.close(); // waiting for the stalled stream would outlast the test's timeout

    expect(await outcome).toBeInstanceOf(AnthropicError);
    expect(own.requests[0]).toMatchObject({ completed: false, tokensSent: 0 });
    expect(own.requests[0].socketClosedAt).toBeDefined();
  });
});
