import { waitForClose } from '../support/anthropic-server';
import { allAuditEvents, parseDetail } from '../support/audit-helpers';
import {
  chatTenant,
  expectedCost,
  openChat,
  startChatEnvironment,
  uniqueText,
  usageRows,
  type ChatEnvironment,
  type ChatRun,
  type ChatTenant,
  type OpenChat,
} from '../support/chat-harness';
import { CONVERSATION, SUBMIT_TOOL_RESULTS, type ToolDefinitionArgs, type ToolResultArgs } from '../support/documents';
import { anthropicKey, createMember, openAiKey, openRouterKey } from '../support/fixtures';
import { errorCode, ok, post } from '../support/graphql-client';
import type { JsonObject } from '../support/anthropic/types';
import { sqlSimple } from '../support/sql';

/**
 * The tool loop over a real graphql-ws client against the local Anthropic, OpenAI and OpenRouter
 * servers, which ask for tools when a message carries `[[tool:NAME {json}]]` markers
 * (test/support/tool-script.ts) and answer results with `Tool said: <output>`.
 */

let env: ChatEnvironment;

beforeAll(async () => {
  env = await startChatEnvironment({
    ANTHROPIC_API_KEY: anthropicKey(),
    OPENAI_API_KEY: openAiKey(),
    OPENROUTER_API_KEY: openRouterKey(),
  });
});

afterAll(async () => {
  await env?.stop();
});

const WEATHER: ToolDefinitionArgs = {
  name: 'get_weather',
  description: 'The weather in a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const CLOCK: ToolDefinitionArgs = {
  name: 'get_time',
  description: 'The local time in a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
};

const submit = (token: string, requestId: string, results: ToolResultArgs[]) =>
  post(env.gw, token, SUBMIT_TOOL_RESULTS, { requestId, results });

async function submitOk(token: string, requestId: string, results: ToolResultArgs[]): Promise<void> {
  const data = await ok(env.gw, token, SUBMIT_TOOL_RESULTS, { requestId, results });
  expect(data.submitToolResults).toBe(true);
}

const submitCode = async (token: string, requestId: string, results: ToolResultArgs[]): Promise<unknown> =>
  errorCode(await submit(token, requestId, results));

async function finished(open: OpenChat): Promise<ChatRun> {
  const run = await open.done;
  await open.dispose();
  return run;
}

const requestIdOf = (open: OpenChat): string => open.run.started!.requestId;

interface ProviderCase {
  provider: 'ANTHROPIC' | 'OPENAI' | 'OPENROUTER';
  model: string;
  /** The upstream requests whose conversation contains `text`. */
  requests: (text: string) => Array<{ body?: JsonObject }>;
}

const mentions = (body: JsonObject | undefined, text: string): boolean => JSON.stringify(body ?? {}).includes(text);

const CASES: ProviderCase[] = [
  {
    provider: 'ANTHROPIC',
    model: 'claude-haiku-4-5',
    requests: (text) => env.anthropic.requests.filter((request) => mentions(request.body, text)),
  },
  {
    provider: 'OPENAI',
    model: 'gpt-5-mini',
    requests: (text) => env.openai.requests.filter((request) => mentions(request.body, text)),
  },
  {
    provider: 'OPENROUTER',
    model: 'openai/gpt-5-mini',
    requests: (text) => env.openrouter.requests.filter((request) => mentions(request.body, text)),
  },
];

/** The tool call and result turns of an upstream body, whatever the API's shape. */
function toolTurns(provider: ProviderCase['provider'], body: JsonObject): { calls: unknown[]; results: unknown[] } {
  const messages = body.messages as JsonObject[];
  if (provider === 'ANTHROPIC') {
    const blocks = messages.flatMap((message) =>
      Array.isArray(message.content) ? (message.content as JsonObject[]) : [],
    );
    return {
      calls: blocks.filter((block) => block.type === 'tool_use').map(({ id, name, input }) => ({ id, name, input })),
      results: blocks
        .filter((block) => block.type === 'tool_result')
        .map(({ tool_use_id, content, is_error }) => ({
          id: tool_use_id,
          output: content,
          isError: is_error === true,
        })),
    };
  }
  return {
    calls: messages.flatMap((message) =>
      ((message.tool_calls ?? []) as Array<{ id: string; function: { name: string; arguments: string } }>).map(
        (call) => ({ id: call.id, name: call.function.name, input: JSON.parse(call.function.arguments) as unknown }),
      ),
    ),
    results: messages
      .filter((message) => message.role === 'tool')
      .map((message) => {
        const output = String(message.content);
        const isError = output.startsWith('Error: ');
        return { id: message.tool_call_id, output: isError ? output.slice('Error: '.length) : output, isError };
      }),
  };
}

describe.each(CASES)('the same tool conversation on $provider', ({ provider, model, requests }) => {
  let tenant: ChatTenant;
  let conversationId: string;
  let requestId: string;
  let marker: string;
  let firstRun: ChatRun;

  beforeAll(async () => {
    tenant = await chatTenant(env.gw, { allowedModels: null });
  });

  test('two steps: the tool call streams after the text, the result continues the chat with the same model', async () => {
    marker = uniqueText('weather');
    const message = `${marker} [[tool:get_weather {"city":"Paris"}]]`;
    const open = openChat(env.gw, tenant.member.token, { message, model, tools: [WEATHER] });
    await open.waitForToolCalls(1);
    const [call] = open.run.toolCalls;
    expect(call).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    expect(open.run.typenames.slice(0, 3)).toEqual(['ChatStarted', 'ChatDelta', 'ChatDelta']);
    expect(open.run.text).toBe('Let me check.');
    requestId = requestIdOf(open);
    conversationId = open.run.started!.conversationId;

    await submitOk(tenant.member.token, requestId, [{ toolCallId: call.id, output: 'Sunny, 21C' }]);
    firstRun = await finished(open);
    expect(firstRun.failed).toBeUndefined();
    expect(firstRun.completed?.stopReason).toMatch(/^(end_turn|stop)$/);
    expect(firstRun.text).toBe('Let me check.Tool said: Sunny, 21C');
    expect(firstRun.started?.model).toBe(model);

    // Upstream: the second call carries the tool call and its result, in the API's own shape.
    const upstream = requests(marker);
    expect(upstream).toHaveLength(2);
    expect((upstream[0].body!.tools as unknown[]).length).toBe(1);
    expect(toolTurns(provider, upstream[1].body!)).toEqual({
      calls: [{ id: call.id, name: 'get_weather', input: { city: 'Paris' } }],
      results: [{ id: call.id, output: 'Sunny, 21C', isError: false }],
    });
  });

  test('usage: one row per step under the request id, and ChatCompleted sums them', async () => {
    const rows = await usageRows(requestId);
    expect(rows).toHaveLength(2);
    const steps = await sqlSimple<{ step: number }>(
      'select step from usage_records where request_id = $1 order by step',
      [requestId],
    );
    expect(steps.map((row) => row.step)).toEqual([1, 2]);
    expect(rows.every((row) => row.status === 'completed' && row.model === model)).toBe(true);
    const sum = (pick: (row: (typeof rows)[number]) => number) => rows.reduce((total, row) => total + pick(row), 0);
    expect(firstRun.completed!.usage.inputTokens).toBe(sum((row) => row.input_tokens));
    expect(firstRun.completed!.usage.outputTokens).toBe(sum((row) => row.output_tokens));
    expect(firstRun.completed!.usage.costUsd).toBeCloseTo(
      expectedCost(
        model,
        sum((row) => row.input_tokens),
        sum((row) => row.output_tokens),
      ),
      12,
    );
  });

  test('the conversation stores the call and its result, and a continued conversation replays them', async () => {
    const stored = await sqlSimple<{ role: string; tool_calls: unknown; tool_results: unknown }>(
      'select role, tool_calls, tool_results from messages where conversation_id = $1 order by created_at, id',
      [conversationId],
    );
    expect(stored.map((row) => row.role)).toEqual(['USER', 'ASSISTANT', 'TOOL', 'ASSISTANT']);
    expect(stored[1].tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', input: { city: 'Paris' } })]);
    expect(stored[2].tool_results).toEqual([expect.objectContaining({ output: 'Sunny, 21C', isError: false })]);

    // The same, as the API shows the conversation.
    const shown = (await ok(env.gw, tenant.member.token, CONVERSATION, { id: conversationId })).conversation!.messages;
    expect(
      shown.map((message) => [message.role, message.toolCalls?.length ?? null, message.toolResults?.length ?? null]),
    ).toEqual([
      ['USER', null, null],
      ['ASSISTANT', 1, null],
      ['TOOL', null, 1],
      ['ASSISTANT', null, null],
    ]);
    const [call] = shown[1].toolCalls!;
    expect(call).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    expect(shown[2].toolResults).toEqual([{ toolCallId: call.id, output: 'Sunny, 21C', isError: false }]);

    const next = uniqueText('thanks');
    const open = openChat(env.gw, tenant.member.token, { message: next, conversationId, model });
    const run = await finished(open);
    expect(run.completed).toBeDefined();
    expect(run.text).toBe(`Echo: ${next}`);
    const [replayed] = requests(next);
    const turns = toolTurns(provider, replayed.body!);
    expect(turns.calls).toEqual([expect.objectContaining({ name: 'get_weather', input: { city: 'Paris' } })]);
    expect(turns.results).toEqual([expect.objectContaining({ output: 'Sunny, 21C', isError: false })]);
  });

  test('parallel calls in one step: the chat goes on only once every call is answered; errors are marked', async () => {
    const text = uniqueText('parallel');
    const message = `${text} [[tool:get_weather {"city":"Oslo"}]] [[tool:get_time {"city":"Oslo"}]]`;
    const open = openChat(env.gw, tenant.member.token, { message, model, tools: [WEATHER, CLOCK] });
    await open.waitForToolCalls(2);
    const [weather, time] = open.run.toolCalls;
    expect([weather.name, time.name]).toEqual(['get_weather', 'get_time']);
    expect(weather.id).not.toBe(time.id);
    const id = requestIdOf(open);

    await submitOk(tenant.member.token, id, [{ toolCallId: weather.id, output: 'Snow' }]);
    // Answered already, while the other call is still open.
    expect(await submitCode(tenant.member.token, id, [{ toolCallId: weather.id, output: 'Rain' }])).toBe('NOT_FOUND');
    expect(requests(text)).toHaveLength(1);
    await submitOk(tenant.member.token, id, [{ toolCallId: time.id, output: 'clock broken', isError: true }]);

    const run = await finished(open);
    expect(run.text).toBe('Let me check.Tool said: Snow | Tool said: Error: clock broken');
    const upstream = requests(text);
    expect(upstream).toHaveLength(2);
    expect(toolTurns(provider, upstream[1].body!).results).toEqual([
      { id: weather.id, output: 'Snow', isError: false },
      { id: time.id, output: 'clock broken', isError: true },
    ]);
  });
});

describe('submitToolResults', () => {
  let tenant: ChatTenant;

  beforeAll(async () => {
    tenant = await chatTenant(env.gw);
  });

  test("someone else's request, an unknown call, an unknown request, a finished chat: NOT_FOUND", async () => {
    const other = await createMember(env.gw, tenant.adminToken);
    const stranger = await chatTenant(env.gw);
    const open = openChat(env.gw, tenant.member.token, {
      message: `${uniqueText('mine')} [[tool:get_weather {"city":"Rome"}]]`,
      tools: [WEATHER],
    });
    await open.waitForToolCalls(1);
    const id = requestIdOf(open);
    const [call] = open.run.toolCalls;
    const result = [{ toolCallId: call.id, output: 'Hot' }];

    expect(await submitCode(other.token, id, result)).toBe('NOT_FOUND');
    expect(await submitCode(tenant.adminToken, id, result)).toBe('NOT_FOUND');
    expect(await submitCode(stranger.member.token, id, result)).toBe('NOT_FOUND');
    expect(await submitCode(tenant.member.token, id, [{ toolCallId: 'toolu_unknown', output: 'Hot' }])).toBe(
      'NOT_FOUND',
    );
    // All or nothing: one unknown id refuses the batch, the open call stays open.
    expect(await submitCode(tenant.member.token, id, [...result, { toolCallId: 'call_unknown', output: 'x' }])).toBe(
      'NOT_FOUND',
    );
    expect(await submitCode(tenant.member.token, 'no-such-request', result)).toBe('NOT_FOUND');

    await submitOk(tenant.member.token, id, result);
    const run = await finished(open);
    expect(run.text).toContain('Tool said: Hot');
    expect(await submitCode(tenant.member.token, id, result)).toBe('NOT_FOUND');
  });

  test('an output over KEYWARD_MAX_TOOL_OUTPUT_BYTES is BAD_USER_INPUT and leaves the call open', async () => {
    const open = openChat(env.gw, tenant.member.token, {
      message: `${uniqueText('big')} [[tool:get_weather {"city":"Lima"}]]`,
      tools: [WEATHER],
    });
    await open.waitForToolCalls(1);
    const [call] = open.run.toolCalls;
    const id = requestIdOf(open);
    expect(
      await submitCode(tenant.member.token, id, [{ toolCallId: call.id, output: 'x'.repeat(256 * 1024 + 1) }]),
    ).toBe('BAD_USER_INPUT');
    await submitOk(tenant.member.token, id, [{ toolCallId: call.id, output: 'Mild' }]);
    expect((await finished(open)).completed).toBeDefined();
  });

  test('each answered call is audited as tool.call with its name and sizes, never its content', async () => {
    const secretOutput = `output-${uniqueText('secret')}`;
    const open = openChat(env.gw, tenant.member.token, {
      message: `${uniqueText('audit')} [[tool:get_weather {"city":"Kyoto"}]]`,
      tools: [WEATHER],
    });
    await open.waitForToolCalls(1);
    const [call] = open.run.toolCalls;
    const id = requestIdOf(open);
    await submitOk(tenant.member.token, id, [{ toolCallId: call.id, output: secretOutput }]);
    await finished(open);
    const events = (await allAuditEvents(env.gw, tenant.adminToken, { action: 'tool.call' })).filter(
      (event) => event.requestId === id,
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: tenant.member.userId, outcome: 'SUCCESS' });
    expect(parseDetail(events[0])).toEqual({
      tool: 'get_weather',
      toolCallId: call.id,
      inputBytes: Buffer.byteLength(JSON.stringify({ city: 'Kyoto' })),
      outputBytes: Buffer.byteLength(secretOutput),
    });
    expect(JSON.stringify(events)).not.toContain(secretOutput);
    expect(JSON.stringify(events)).not.toContain('Kyoto');
  });
});

describe('limits of the loop', () => {
  test('maxSteps: a model that keeps asking for tools ends with TOOL_STEPS_EXCEEDED after maxSteps calls', async () => {
    const tenant = await chatTenant(env.gw, { maxSteps: 2 });
    const text = uniqueText('forever');
    const open = openChat(env.gw, tenant.member.token, {
      message: `${text} [[tool-forever:get_weather {"city":"Bergen"}]]`,
      tools: [WEATHER],
    });
    await open.waitForToolCalls(1);
    await submitOk(tenant.member.token, requestIdOf(open), [{ toolCallId: open.run.toolCalls[0].id, output: 'Rain' }]);
    const run = await finished(open);
    expect(run.toolCalls).toHaveLength(2);
    expect(run.failed).toMatchObject({ code: 'TOOL_STEPS_EXCEEDED', retryable: false });
    expect(run.completed).toBeUndefined();
    expect(env.anthropic.requests.filter((request) => mentions(request.body, text))).toHaveLength(2);
    expect(await usageRows(requestIdOf(open))).toHaveLength(2);
  });

  test('cancelling during the wait ends everything: no upstream left open, usage recorded, no pending call', async () => {
    const tenant = await chatTenant(env.gw, { monthlyBudgetUsd: 100 });
    const text = uniqueText('cancel');
    const open = openChat(env.gw, tenant.member.token, {
      message: `${text} [[tool:get_weather {"city":"Cairo"}]]`,
      tools: [WEATHER],
    });
    await open.waitForToolCalls(1);
    const id = requestIdOf(open);
    const [call] = open.run.toolCalls;
    open.unsubscribe();
    await open.dispose();

    // The loop ends by releasing the budget reservation; then nothing waits for this request.
    await eventually(async () => (await reservations(tenant.tenantId)) === 0, 'the reservation to be released');
    expect(await submitCode(tenant.member.token, id, [{ toolCallId: call.id, output: 'late' }])).toBe('NOT_FOUND');
    const upstream = env.anthropic.requests.filter((request) => mentions(request.body, text));
    expect(upstream).toHaveLength(1);
    await waitForClose(upstream[0]);
    const rows = await usageRows(id);
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('completed');
  });

  test('results that cannot be stored end the chat with ChatFailed and release its reservation', async () => {
    const tenant = await chatTenant(env.gw, { monthlyBudgetUsd: 100 });
    const open = openChat(env.gw, tenant.member.token, {
      message: `${uniqueText('unstored')} [[tool:get_weather {"city":"Lima"}]]`,
      tools: [WEATHER],
    });
    await open.waitForToolCalls(1);
    const { conversationId } = open.run.started!;
    // The database refuses this conversation's tool turn (and only it: the tables are shared).
    const guard = `refuse_tool_turn_${conversationId.replaceAll('-', '')}`;
    await sqlSimple(`create function ${guard}() returns trigger language plpgsql as $$
      begin
        if new.conversation_id = '${conversationId}' and new.role = 'TOOL' then raise exception 'refused by the test'; end if;
        return new;
      end $$`);
    await sqlSimple(`create trigger ${guard} before insert on messages for each row execute function ${guard}()`);
    try {
      await submitOk(tenant.member.token, requestIdOf(open), [{ toolCallId: open.run.toolCalls[0].id, output: 'Dry' }]);
      const run = await finished(open);
      expect(run.failed).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true });
      expect(run.completed).toBeUndefined();
      await eventually(async () => (await reservations(tenant.tenantId)) === 0, 'the reservation to be released');
      expect(await usageRows(requestIdOf(open))).toHaveLength(1);
    } finally {
      await sqlSimple(`drop trigger ${guard} on messages`);
      await sqlSimple(`drop function ${guard}()`);
    }
  });

  test('budget exceeded mid-loop: the next step that the budget cannot cover ends with BUDGET_EXCEEDED', async () => {
    const model = 'claude-haiku-4-5';
    // Room for the first step (a short message, 64 output tokens), not for one whose input holds a 200 KB result.
    const tenant = await chatTenant(env.gw, { monthlyBudgetUsd: expectedCost(model, 20_000, 64) });
    const text = uniqueText('budget');
    const open = openChat(env.gw, tenant.member.token, {
      message: `${text} [[tool:get_weather {"city":"Nice"}]]`,
      tools: [WEATHER],
      model,
      maxTokens: 64,
    });
    await open.waitForToolCalls(1);
    const id = requestIdOf(open);
    await submitOk(tenant.member.token, id, [{ toolCallId: open.run.toolCalls[0].id, output: 'x'.repeat(200_000) }]);
    const run = await finished(open);
    expect(run.failed).toMatchObject({ code: 'BUDGET_EXCEEDED', retryable: false });
    expect(env.anthropic.requests.filter((request) => mentions(request.body, text))).toHaveLength(1);
    expect(await usageRows(id)).toHaveLength(1);
    expect(await reservations(tenant.tenantId)).toBe(0);
  });

  test('20 concurrent tool loops of different users never cross', async () => {
    const tenants = await Promise.all(Array.from({ length: 4 }, () => chatTenant(env.gw)));
    const users = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const tenant = tenants[index % tenants.length];
        return index < tenants.length ? tenant.member : createMember(env.gw, tenant.adminToken);
      }),
    );
    const cities = users.map((_, index) => `City${index}x${uniqueText('c').slice(-6)}`);
    const chats = users.map((user, index) =>
      openChat(env.gw, user.token, {
        message: `${uniqueText('crowd')} [[tool:get_weather {"city":"${cities[index]}"}]]`,
        tools: [WEATHER],
      }),
    );
    await Promise.all(chats.map((open) => open.waitForToolCalls(1)));
    chats.forEach((open, index) => expect(open.run.toolCalls[0].input).toEqual({ city: cities[index] }));
    // Each user tries the next user's request first: refused, and that chat is untouched.
    await Promise.all(
      chats.map(async (_open, index) => {
        const next = chats[(index + 1) % chats.length];
        const result = [{ toolCallId: next.run.toolCalls[0].id, output: `stolen by ${index}` }];
        expect(await submitCode(users[index].token, requestIdOf(next), result)).toBe('NOT_FOUND');
      }),
    );
    await Promise.all(
      chats.map((open, index) =>
        submitOk(users[index].token, requestIdOf(open), [
          { toolCallId: open.run.toolCalls[0].id, output: `weather of ${cities[index]}` },
        ]),
      ),
    );
    const runs = await Promise.all(chats.map(finished));
    runs.forEach((run, index) => {
      expect(run.completed).toBeDefined();
      expect(run.text).toBe(`Let me check.Tool said: weather of ${cities[index]}`);
      expect(run.raw.join(' ')).not.toContain('stolen');
    });
  });
});

/** Budget reservations the tenant holds (a chat holds one until it ends). */
async function reservations(tenantId: string): Promise<number> {
  const [row] = await sqlSimple<{ count: string }>(
    'select count(*) as count from budget_reservations where tenant_id = $1',
    [tenantId],
  );
  return Number(row.count);
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('one conversation across providers', () => {
  test('a tool conversation held on Anthropic continues on OpenAI, its tool turns replayed in OpenAI form', async () => {
    const tenant = await chatTenant(env.gw);
    const open = openChat(env.gw, tenant.member.token, {
      message: `${uniqueText('across')} [[tool:get_weather {"city":"Porto"}]]`,
      model: 'claude-haiku-4-5',
      tools: [WEATHER],
    });
    await open.waitForToolCalls(1);
    const [call] = open.run.toolCalls;
    await submitOk(tenant.member.token, requestIdOf(open), [{ toolCallId: call.id, output: 'Windy' }]);
    const first = await finished(open);
    expect(first.text).toBe('Let me check.Tool said: Windy');

    const next = uniqueText('then');
    const conversationId = first.started!.conversationId;
    const second = await finished(
      openChat(env.gw, tenant.member.token, { message: next, conversationId, model: 'gpt-5-mini' }),
    );
    expect(second.completed).toBeDefined();
    const [upstream] = env.openai.requests.filter((request) => mentions(request.body, next));
    expect(toolTurns('OPENAI', upstream.body!)).toEqual({
      calls: [{ id: call.id, name: 'get_weather', input: { city: 'Porto' } }],
      results: [{ id: call.id, output: 'Windy', isError: false }],
    });
  });
});
