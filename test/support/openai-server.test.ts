import OpenAI, { APIError, AuthenticationError, BadRequestError, InternalServerError, RateLimitError } from 'openai';
import { waitForClose } from './anthropic-server';
import { startOpenAiServer, type OpenAiBehaviour, type OpenAiServer } from './openai-server';

/** The local OpenAI / OpenRouter servers against the real `openai` SDK and raw HTTP: what the SDK and the wire see. */

let openai: OpenAiServer;
let openrouter: OpenAiServer;

beforeAll(async () => {
  openai = await startOpenAiServer('openai');
  openrouter = await startOpenAiServer('openrouter');
});

beforeEach(() => {
  openai.reset();
  openrouter.reset();
});

afterAll(async () => {
  await openai?.close();
  await openrouter?.close();
});

const OPENAI_KEY = 'sk-proj-fidelity0000000000000000';
const OPENROUTER_KEY = 'sk-or-v1-fidelity000000000000000';

const client = (server: OpenAiServer, apiKey = server.mode === 'openai' ? OPENAI_KEY : OPENROUTER_KEY) =>
  new OpenAI({ apiKey, baseURL: server.baseURL, maxRetries: 0, organization: null, project: null, logLevel: 'off' });

const params = (text = 'Hello there', model = 'gpt-4.1-mini') => ({
  model,
  messages: [{ role: 'user' as const, content: text }],
  max_completion_tokens: 64,
  stream: true as const,
  stream_options: { include_usage: true },
});

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** The raw SSE text of one streamed request, as a client without the SDK reads it. */
async function rawStream(server: OpenAiServer, body: object, apiKey: string): Promise<string> {
  const response = await fetch(`${server.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  return response.text();
}

describe('OpenAI Chat Completions streaming', () => {
  test('one chunk per token, a finish_reason chunk, the usage chunk with empty choices, then [DONE]', async () => {
    openai.enqueue({ kind: 'stream', tokens: ['Hel', 'lo'], promptTokens: 11, completionTokens: 2 });
    const stream = await client(openai).chat.completions.create(params());
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? null)).toEqual(['', 'Hel', 'lo', null, null]);
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);

    const [request] = openai.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/chat/completions', apiKey: OPENAI_KEY });
    expect(request.body).toMatchObject({
      model: 'gpt-4.1-mini',
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(request.completed).toBe(true);
  });

  test('on the wire every event is its own data: line and the stream ends with data: [DONE]', async () => {
    const text = await rawStream(openai, params('wire check'), OPENAI_KEY);
    const events = text.split('\n\n').filter(Boolean);
    expect(events.every((event) => event.startsWith('data: '))).toBe(true);
    expect(events[events.length - 1]).toBe('data: [DONE]');
    expect(text).not.toContain(': OPENROUTER PROCESSING');
  });

  test('without include_usage there is no usage chunk and no usage field', async () => {
    const stream = await client(openai).chat.completions.create({ ...params(), stream_options: undefined });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.choices.length === 1 && !('usage' in chunk))).toBe(true);
  });

  test('omitUsage ends with the finish_reason chunk and [DONE] but no usage chunk, although include_usage was asked', async () => {
    const omitted: OpenAiBehaviour = { kind: 'stream', tokens: ['Hel', 'lo'], omitUsage: true };
    openai.enqueue(omitted, omitted);
    const stream = await client(openai).chat.completions.create(params());
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? null)).toEqual(['', 'Hel', 'lo', null]);
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    expect(chunks.every((chunk) => chunk.choices.length === 1 && chunk.usage === null)).toBe(true);
    const [request] = openai.requests;
    expect(request.body).toMatchObject({ stream_options: { include_usage: true } });
    expect(request.completed).toBe(true);
    const events = (await rawStream(openai, params('wire check'), OPENAI_KEY)).split('\n\n').filter(Boolean);
    expect(events[events.length - 1]).toBe('data: [DONE]');
    expect(JSON.parse(events[events.length - 2].slice('data: '.length))).toMatchObject({
      choices: [{ finish_reason: 'stop' }],
      usage: null,
    });
  });

  test('reasoning models refuse max_tokens with 400, as the real API does', async () => {
    const { max_completion_tokens: _, ...rest } = params('x', 'gpt-5-mini');
    const error = await errorOf(client(openai).chat.completions.create({ ...rest, max_tokens: 10 }));
    expect(error).toBeInstanceOf(BadRequestError);
  });

  test('a wrong key is 401 AuthenticationError with OpenAI error JSON; 429 carries retry-after; 500 is InternalServerError', async () => {
    const unauthorised = await errorOf(
      client(openai, 'sk-or-wrong-kind-of-key-000000').chat.completions.create(params()),
    );
    expect(unauthorised).toBeInstanceOf(AuthenticationError);
    expect((unauthorised as APIError).error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key' });

    openai.enqueue({ kind: 'http-error', status: 429, retryAfterSeconds: 3 });
    const limited = await errorOf(client(openai).chat.completions.create(params()));
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as APIError).headers?.get('retry-after')).toBe('3');

    openai.enqueue({ kind: 'http-error', status: 500 });
    expect(await errorOf(client(openai).chat.completions.create(params()))).toBeInstanceOf(InternalServerError);
  });

  test('stallAfter holds the stream open until the client aborts; the record notes the close', async () => {
    openai.enqueue({ kind: 'stream', tokens: ['a', 'b', 'c'], stallAfter: 1 });
    const controller = new AbortController();
    const stream = await client(openai).chat.completions.create(params(), { signal: controller.signal });
    const seen: string[] = [];
    for await (const chunk of stream) {
      const text = chunk.choices[0]?.delta.content;
      if (text) {
        seen.push(text);
        controller.abort();
      }
    }
    expect(seen).toEqual(['a']);
    const [request] = openai.requests;
    await waitForClose(request as never);
    expect(request.completed).toBe(false);
    expect(request.tokensSent).toBe(1);
  });

  test('GET /v1/models needs a key; a key marked restricted gets 403', async () => {
    expect((await client(openai).models.list()).data.map((model) => model.id)).toContain('gpt-4.1-mini');
    openai.rejectKey(OPENAI_KEY, 403);
    expect(await errorOf(client(openai).models.list())).toMatchObject({ status: 403 });
  });
});

describe('OpenRouter', () => {
  test('streams at /api/v1 with : OPENROUTER PROCESSING comments, which the SDK skips', async () => {
    const text = await rawStream(openrouter, params('comments', 'openai/gpt-5-mini'), OPENROUTER_KEY);
    expect(text.startsWith(': OPENROUTER PROCESSING\n\n')).toBe(true);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);

    const stream = await client(openrouter).chat.completions.create(params('comments', 'openai/gpt-5-mini'));
    let reply = '';
    for await (const chunk of stream) reply += chunk.choices[0]?.delta.content ?? '';
    expect(reply).toBe('Echo: comments');
    expect(openrouter.requests[1].path).toBe('/api/v1/chat/completions');
  });

  test('an error during generation is a data event with `error`, which the SDK throws as an APIError', async () => {
    openrouter.enqueue({ kind: 'error-event-mid-stream', afterTokens: 1, tokens: ['x', 'y'] });
    const stream = await client(openrouter).chat.completions.create(params('fail', 'openai/gpt-5-mini'));
    const seen: string[] = [];
    const error = await errorOf(
      (async () => {
        for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    );
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBeUndefined();
    expect(seen).toEqual(['', 'x']);
  });

  test('GET /api/v1/key answers for a valid key and 401 for another; /models needs no key', async () => {
    const info = (await client(openrouter).get('/key')) as { data: { label: string } };
    expect(info.data.label).toMatch(/^sk-or-v1/);
    expect(await errorOf(client(openrouter, 'sk-proj-notopenrouter00000000').get('/key'))).toBeInstanceOf(
      AuthenticationError,
    );
    const models = await fetch(`${openrouter.baseURL}/models`);
    expect(models.status).toBe(200);
    expect(openrouter.requests.map((request) => request.apiKey)).toEqual([
      OPENROUTER_KEY,
      'sk-proj-notopenrouter00000000',
      undefined,
    ]);
  });
});
