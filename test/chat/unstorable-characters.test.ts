import {
  chat,
  chatTenant,
  messageRows,
  openChat,
  refusedChat,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  usageRow,
  usageRows,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { SUBMIT_TOOL_RESULTS, type ToolDefinitionArgs } from '../support/documents';
import { anthropicKey } from '../support/fixtures';
import { ok, post } from '../support/graphql-client';
import { sqlSimple } from '../support/sql';

/**
 * PostgreSQL's text and jsonb hold neither U+0000 nor half a surrogate pair, and one such
 * character used to fail the statement that records a chat's end: the chat ran and was paid for,
 * and left no usage row, no reply and no credential.use event. Clients may not send a NUL
 * (BAD_USER_INPUT, before anything reaches the provider); what the model writes is delivered as it
 * came, and what cannot be stored is stored as U+FFFD.
 */

let env: ChatEnvironment;
let tenant: ChatTenant;

beforeAll(async () => {
  env = await startChatEnvironment({ ANTHROPIC_API_KEY: anthropicKey() });
  tenant = await chatTenant(env.gw, { allowedModels: null });
});

beforeEach(() => env.anthropic.reset());

afterAll(async () => {
  await env?.stop();
});

const MODEL = 'claude-haiku-4-5';
const WEATHER: ToolDefinitionArgs = {
  name: 'get_weather',
  description: 'The weather in a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
};

/** A chat whose model calls get_weather with `cityJson`, answered with `output`, run to its end. */
async function toolChat(cityJson: string, output: string) {
  const open = openChat(env.gw, tenant.member.token, {
    message: `${uniqueText('tool')} [[tool:get_weather {"city":${cityJson}}]]`,
    model: MODEL,
    keySource: 'PLATFORM',
    tools: [WEATHER],
  });
  await open.waitForToolCalls(1);
  const [call] = open.run.toolCalls;
  const submitted = await ok(env.gw, tenant.member.token, SUBMIT_TOOL_RESULTS, {
    requestId: open.run.started!.requestId,
    results: [{ toolCallId: call.id, output }],
  });
  expect(submitted.submitToolResults).toBe(true);
  const run = await open.done;
  await open.dispose();
  expect(run.completed).toBeDefined();
  const { requestId, conversationId } = run.started!;
  const stored = await sqlSimple<{ role: string; tool_calls: unknown; tool_results: unknown }>(
    'select role, tool_calls, tool_results from messages where conversation_id = $1 order by created_at, id',
    [conversationId],
  );
  expect(stored.map((row) => row.role)).toEqual(['USER', 'ASSISTANT', 'TOOL', 'ASSISTANT']);
  return { call, run, requestId, stored };
}

test.each([
  ['the message', (text: string) => ({ message: `${text}\u0000` }), 'message'],
  ['the client request id', (text: string) => ({ message: text, clientRequestId: 'id\u0000' }), 'clientRequestId'],
  [
    'a tool definition (a key inside its JSON schema)',
    (text: string) => ({
      message: text,
      tools: [{ ...WEATHER, inputSchema: { type: 'object', properties: { 'ci\u0000ty': { type: 'string' } } } }],
    }),
    'tools',
  ],
])('a NUL character in %s is refused before the provider is called', async (_case, input, field) => {
  const text = uniqueText('nul');
  const run = await chat(env.gw, tenant.member.token, { model: MODEL, keySource: 'PLATFORM', ...input(text) });
  expect(run.events).toEqual([]);
  const error = run.errors?.[0];
  expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(error?.message).toBe(`Invalid input: ${field}: must not contain a NUL character (U+0000)`);
  expect(error?.message).not.toContain(text);
  expect(env.anthropic.requests.filter((request) => JSON.stringify(request.body ?? {}).includes(text))).toEqual([]);
});

test('the refusal holds for HTTP arguments too, and the server keeps serving', async () => {
  const response = await post(env.gw, tenant.member.token, SUBMIT_TOOL_RESULTS, {
    requestId: '00000000-0000-4000-8000-000000000000',
    results: [{ toolCallId: 'call_1', output: 'sun\u0000ny' }],
  });
  expect(response.errors?.[0]).toMatchObject({
    message: 'Invalid input: output: must not contain a NUL character (U+0000)',
    extensions: { code: 'BAD_USER_INPUT' },
  });
  expect(await refusedChat(env.gw, tenant.member.token, { message: '\u0000', model: MODEL })).toBe('BAD_USER_INPUT');
  const after = await chat(env.gw, tenant.member.token, {
    message: uniqueText('after'),
    model: MODEL,
    keySource: 'PLATFORM',
  });
  expect(after.completed).toBeDefined();
});

test('a NUL the model writes reaches the client as it came; the reply, usage and audit event are recorded', async () => {
  env.anthropic.enqueue({
    kind: 'stream',
    tokens: ['a\u0000b', ' c'],
    inputTokens: 7,
    outputTokens: 3,
    stopReason: 'end_turn',
  });
  const message = uniqueText('reply');
  const run = await chat(env.gw, tenant.member.token, { message, model: MODEL, keySource: 'PLATFORM' });
  expect(run.text).toBe('a\u0000b c');
  expect(run.completed?.usage).toMatchObject({ inputTokens: 7, outputTokens: 3 });
  expect(upstreamFor(env.anthropic, message)).toHaveLength(1);

  const { requestId, conversationId } = run.started!;
  expect(await usageRow(requestId)).toMatchObject({ status: 'completed', input_tokens: 7, output_tokens: 3 });
  expect((await messageRows(conversationId)).map(({ role, content }) => [role, content])).toEqual([
    ['USER', message],
    ['ASSISTANT', 'a\ufffdb c'],
  ]);
  const keyUse = await sqlSimple<{ action: string }>(
    "select action from audit_events where request_id = $1 and action = 'credential.use'",
    [requestId],
  );
  expect(keyUse).toHaveLength(1);
});

test('a tool call whose input holds a NUL is delivered as it came and stored with U+FFFD', async () => {
  // The marker's JSON spells the escape: the message itself holds no NUL.
  const { call, requestId, stored } = await toolChat('"Pa\\u0000ris"', 'Sunny');
  expect(call.input).toEqual({ city: 'Pa\u0000ris' });
  expect(stored[1].tool_calls).toEqual([
    expect.objectContaining({ name: 'get_weather', input: { city: 'Pa\ufffdris' } }),
  ]);
  expect(await usageRows(requestId)).toHaveLength(2);
});

test.each([
  ['a lone surrogate in the message', (marker: string) => `${marker} \ud800 alone`],
  // The conversation's title is the message's first 80 characters: here they end inside an emoji.
  ['a title cut in the middle of an emoji', (marker: string) => `${marker.padEnd(79, '.')}😀 after`],
])('%s: the chat is recorded, with U+FFFD where the text cannot be stored', async (_case, messageOf) => {
  const message = messageOf(uniqueText('surrogate'));
  const run = await chat(env.gw, tenant.member.token, { message, model: MODEL, keySource: 'PLATFORM' });
  expect(run.completed).toBeDefined();
  const { requestId, conversationId } = run.started!;
  expect(await usageRow(requestId)).toMatchObject({ status: 'completed' });
  const stored = Buffer.from(message).toString(); // what UTF-8 makes of it: U+FFFD for the lone half
  expect((await messageRows(conversationId))[0]).toMatchObject({ role: 'USER', content: stored });
  const [conversation] = await sqlSimple<{ title: string }>('select title from conversations where id = $1', [
    conversationId,
  ]);
  expect(conversation.title).toBe(Buffer.from(message.trim().slice(0, 80)).toString());
});

test('a tool result with a lone surrogate is passed on and stored with U+FFFD', async () => {
  const { run, stored } = await toolChat('"Paris"', 'sun\ud800ny');
  expect(run.text).toContain('Tool said: sun');
  expect(stored[2].tool_results).toEqual([expect.objectContaining({ output: 'sun\ufffdny' })]);
});
