import type { Browser, Page } from 'playwright-core';
import type { RecordedRequest } from '../support/anthropic-server';
import {
  chatTenant,
  startChatEnvironment,
  uniqueText,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import {
  expectText,
  focusedName,
  launchBrowser,
  openPage,
  screenshot,
  signIn,
  tabTo,
  type WatchedPage,
} from '../support/browser';
import { anthropicKey } from '../support/fixtures';
import { ok } from '../support/graphql-client';

/**
 * Tool use in a real browser: the model's tool calls shown as cards and answered by hand, the
 * chat form's request-level tools, and the Agents page — against a real gateway on PostgreSQL
 * and the local Anthropic server scripted by tool markers.
 */

let env: ChatEnvironment;
let browser: Browser;
let origin: string;
let tenant: ChatTenant;
let watched: WatchedPage;

/** Small enough that a test can send a result the gateway refuses. */
const MAX_TOOL_OUTPUT_BYTES = 64;

beforeAll(async () => {
  [env, browser] = await Promise.all([
    startChatEnvironment({
      ANTHROPIC_API_KEY: anthropicKey(),
      KEYWARD_MAX_TOOL_OUTPUT_BYTES: String(MAX_TOOL_OUTPUT_BYTES),
    }),
    launchBrowser(),
  ]);
  origin = env.gw.url.replace(/\/graphql$/, '');
  tenant = await chatTenant(env.gw);
  watched = await openPage(browser, origin);
});

afterAll(async () => {
  await browser?.close();
  await env?.stop();
});

beforeEach(() => {
  env.anthropic.reset();
});

afterEach(() => {
  watched.expectClean();
});

/** A message whose reply (from the local Anthropic server) is a call of `name` with `input`. */
const toolMarker = (name: string, input: Record<string, unknown>) => `[[tool:${name} ${JSON.stringify(input)}]]`;

const objectSchema = (properties: Record<string, { type: string }>) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
});
const WEATHER = {
  name: 'get_weather',
  description: 'Current weather for a city',
  inputSchema: objectSchema({ city: { type: 'string' } }),
};
const CLOCK = { name: 'get_time', description: 'Local time', inputSchema: objectSchema({ zone: { type: 'string' } }) };
const READ_FILE = { name: 'read_file', description: 'A file', inputSchema: objectSchema({ path: { type: 'string' } }) };

/** Request-level tools for the next message, through the chat form's Tools disclosure. */
async function offerTools(page: Page, tools: object[]): Promise<void> {
  if (!(await page.getByLabel('Tools (JSON)').isVisible())) await page.getByText('Tools', { exact: true }).click();
  await page.getByLabel('Tools (JSON)').fill(JSON.stringify(tools));
}

interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: unknown;
  is_error?: boolean;
}

/** The upstream requests of a new conversation that began with `text` (first the question, then each continuation). */
function conversationRequests(text: string): RecordedRequest[] {
  return env.anthropic.requests.filter((request) => {
    const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
    const first = messages[0];
    const firstText =
      typeof first?.content === 'string'
        ? first.content
        : Array.isArray(first?.content)
          ? (first.content as Array<{ text?: string }>).map((block) => block.text ?? '').join('')
          : undefined;
    return request.path === '/v1/messages' && first?.role === 'user' && firstText === text;
  });
}

/** The tool_result blocks of a continuation request's last (user) message. */
function toolResultsOf(request: RecordedRequest): ToolResultBlock[] {
  const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = messages[messages.length - 1];
  expect(last?.role).toBe('user');
  return (last.content as Array<{ type: string }>).filter(
    (block): block is ToolResultBlock => block.type === 'tool_result',
  );
}

const resultText = (block: ToolResultBlock): string =>
  typeof block.content === 'string'
    ? block.content
    : (block.content as Array<{ text?: string }>).map((part) => part.text ?? '').join('');

const lastReply = (page: Page) => page.locator('.turn.assistant').last();
const toolCard = (page: Page, name: string) => page.getByRole('region', { name: `Tool call ${name}` });

/** Waits until the focused element's accessible name is `name` (focus moves after a render). */
async function expectFocused(page: Page, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const focused = await focusedName(page);
    if (focused === name) return;
    if (Date.now() > deadline)
      throw new Error(
        `expected the focus on ${name}, it is on ${focused.slice(0, 80)}; reply: ${await lastReply(page)
          .innerText()
          .catch(() => '')}`,
      );
    await page.waitForTimeout(50);
  }
}

/** Every submitToolResults the page posts, as its variables. */
function recordSubmissions(page: Page): Array<{ requestId: string; results: unknown[] }> {
  const submissions: Array<{ requestId: string; results: unknown[] }> = [];
  // The console sends them over the chat's graphql-ws socket (a `subscribe` message per operation).
  page.on('websocket', (socket) =>
    socket.on('framesent', ({ payload }) => {
      if (typeof payload === 'string' && payload.includes('submitToolResults'))
        submissions.push(JSON.parse(payload).payload.variables);
    }),
  );
  return submissions;
}

test('keyboard only: a tool call takes the focus, the answer goes out with Enter and the reply runs to its end', async () => {
  const { page } = watched;
  await signIn(page, origin, tenant.member.token);
  const text = `${uniqueText('weather')} ${toolMarker('get_weather', { city: 'Paris' })}`;
  await tabTo(page, 'Message');
  await page.keyboard.type(text);
  await tabTo(page, 'Tools');
  await page.keyboard.press('Enter');
  await tabTo(page, 'Tools (JSON)');
  await page.keyboard.type(JSON.stringify([WEATHER]));
  await tabTo(page, 'Send');
  await page.keyboard.press('Enter');

  const card = toolCard(page, 'get_weather');
  await expectText(card.getByLabel('Input of get_weather'), /\{\n {2}"city": "Paris"\n\}/);
  await expectFocused(page, 'Output of get_weather');
  await expectText(lastReply(page), /waiting for tool results/);
  await screenshot(page, 'chat-tool-call');

  const output = '{"temperature": 21, "sky": "clear"}';
  await page.keyboard.type(output);
  await page.keyboard.press('Enter');
  await expectText(card, /Result sent:[\s\S]*"temperature": 21/);
  await expectText(lastReply(page), /Tool said: \{"temperature": 21, "sky": "clear"\}/);
  await expectText(lastReply(page), /claude-haiku-4-5 · platform key · \d+ in \/ \d+ out tokens/);
  expect(await card.getByRole('textbox').count()).toBe(0);

  const requests = conversationRequests(text);
  expect(requests).toHaveLength(2);
  const [result] = toolResultsOf(requests[1]);
  expect(resultText(result)).toBe(output);
  expect(result.is_error ?? false).toBe(false);
  // The focus returns to the message box for the next question.
  await expectFocused(page, 'Message');
});

test('an answer marked "Is error" reaches the model as an error result', async () => {
  const { page } = watched;
  await signIn(page, origin, tenant.member.token);
  const text = `${uniqueText('lookup')} ${toolMarker('get_weather', { city: 'Atlantis' })}`;
  await offerTools(page, [WEATHER]);
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.keyboard.press('Enter');
  await expectFocused(page, 'Output of get_weather');
  await page.keyboard.type('no such city');
  await tabTo(page, 'Is error');
  await page.keyboard.press('Space');
  await tabTo(page, 'Send result');
  await page.keyboard.press('Enter');

  const card = toolCard(page, 'get_weather');
  await expectText(card, /Sent as an error:[\s\S]*no such city/);
  await expectText(lastReply(page), /Tool said: Error: no such city[\s\S]*platform key · \d+ in/);
  const [result] = toolResultsOf(conversationRequests(text)[1]);
  expect(resultText(result)).toBe('no such city');
  expect(result.is_error).toBe(true);
});

test('parallel calls of one step are answered one by one and sent together in one submitToolResults', async () => {
  const { page } = watched;
  const submissions = recordSubmissions(page);
  await signIn(page, origin, tenant.member.token);
  const text = `${uniqueText('two')} ${toolMarker('get_weather', { city: 'Oslo' })} ${toolMarker('get_time', { zone: 'Europe/Oslo' })}`;
  await offerTools(page, [WEATHER, CLOCK]);
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.keyboard.press('Enter');

  await toolCard(page, 'get_time').waitFor();
  await expectFocused(page, 'Output of get_weather');
  await page.keyboard.type('snow');
  await page.keyboard.press('Enter');
  await expectText(toolCard(page, 'get_weather'), /Ready: it is sent with the other tool results/);
  // The next open call takes the focus; nothing is sent while it is open.
  await expectFocused(page, 'Output of get_time');
  expect(submissions).toHaveLength(0);

  await page.keyboard.type('09:15');
  await page.keyboard.press('Enter');
  await expectText(toolCard(page, 'get_time'), /Result sent:[\s\S]*09:15/);
  await expectText(toolCard(page, 'get_weather'), /Result sent:[\s\S]*snow/);
  await expectText(lastReply(page), /Tool said: snow \| Tool said: 09:15[\s\S]*platform key · \d+ in/);

  expect(submissions).toHaveLength(1);
  expect(submissions[0].results).toHaveLength(2);
  const results = toolResultsOf(conversationRequests(text)[1]);
  expect(results.map(resultText)).toEqual(['snow', '09:15']);
});

test('a result the gateway refuses (too long: BAD_USER_INPUT) is shown as an alert and can be corrected', async () => {
  const { page } = watched;
  await signIn(page, origin, tenant.member.token);
  const text = `${uniqueText('long')} ${toolMarker('read_file', { path: '/etc/motd' })}`;
  await offerTools(page, [READ_FILE]);
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.keyboard.press('Enter');
  await expectFocused(page, 'Output of read_file');
  await page.keyboard.type('x'.repeat(MAX_TOOL_OUTPUT_BYTES + 10));
  await page.keyboard.press('Enter');

  const alert = lastReply(page).getByRole('alert');
  await expectText(alert, /Please correct the input: .*\(BAD_USER_INPUT\)/);
  const field = page.getByLabel('Output of read_file');
  await expect(field.getAttribute('aria-invalid')).resolves.toBe('true');
  await expect(field.isEditable()).resolves.toBe(true);
  // The alert is the field's description, so a screen reader reads it with the field.
  const describedBy = (await field.getAttribute('aria-describedby'))!.split(' ');
  expect(await page.locator(`#${describedBy[1]}`).textContent()).toMatch(/BAD_USER_INPUT/);

  await field.fill('short enough');
  await field.press('Enter');
  await expectText(toolCard(page, 'read_file'), /Result sent:[\s\S]*short enough/);
  await expectText(lastReply(page), /platform key · \d+ in/);
  expect(await alert.count()).toBe(0);
  expect(resultText(toolResultsOf(conversationRequests(text)[1])[0])).toBe('short enough');
});

test('a result for a call the gateway does not know (NOT_FOUND) is shown in words', async () => {
  const { page } = watched;
  await signIn(page, origin, tenant.member.token);
  // Another tab of the same user answered first, say: the gateway no longer holds that call open.
  // The console sends results on the chat's own socket; the first submitToolResults on it is altered.
  let tampered = false;
  await page.routeWebSocket(/\/graphql$/, (socket) => {
    const server = socket.connectToServer();
    socket.onMessage((message) => {
      if (tampered || typeof message !== 'string' || !message.includes('submitToolResults')) {
        server.send(message);
        return;
      }
      tampered = true;
      const parsed = JSON.parse(message);
      parsed.payload.variables.results[0].toolCallId = 'toolu_not_open_anywhere';
      server.send(JSON.stringify(parsed));
    });
  });
  const text = `${uniqueText('gone')} ${toolMarker('get_weather', { city: 'Rome' })}`;
  await offerTools(page, [WEATHER]);
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.keyboard.press('Enter');
  await expectFocused(page, 'Output of get_weather');
  await page.keyboard.type('sunny');
  await page.keyboard.press('Enter');
  await expectText(lastReply(page).getByRole('alert'), /\(NOT_FOUND\)/);
  expect(tampered).toBe(true);
  // Sent again untouched, it is taken and the reply completes.
  await page.getByLabel('Output of get_weather').press('Enter');
  await expectText(toolCard(page, 'get_weather'), /Result sent:[\s\S]*sunny/);
  await expectText(lastReply(page), /platform key · \d+ in/);
});

test('request-level tools: checked as a JSON array before sending, then sent with the message', async () => {
  const { page } = watched;
  await signIn(page, origin, tenant.member.token);
  const text = uniqueText('with tools');
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.getByText('Tools', { exact: true }).click();
  const tools = page.getByLabel('Tools (JSON)');

  await tools.fill('[{"name": "lookup"');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await expectText(page.getByRole('alert'), /Tools must be valid JSON/);
  await expectFocused(page, 'Tools (JSON)');
  await expect(tools.getAttribute('aria-invalid')).resolves.toBe('true');

  await tools.fill('[{"name": "lookup", "description": "Looks a word up"}]');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await expectText(page.getByRole('alert'), /Tool 1 \(lookup\) needs an "inputSchema"/);
  expect(conversationRequests(text)).toHaveLength(0);

  const lookup = {
    name: 'lookup',
    description: 'Looks a word up',
    inputSchema: { type: 'object', properties: { word: { type: 'string' } }, required: ['word'] },
  };
  await tools.fill(JSON.stringify([lookup]));
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await expectText(lastReply(page), /platform key · \d+ in/);
  const [upstream] = conversationRequests(text);
  expect(upstream.body?.tools).toEqual([
    { name: 'lookup', description: 'Looks a word up', input_schema: lookup.inputSchema },
  ]);
});

const AGENTS = /* GraphQL */ `
  {
    agents {
      id
      name
      tools {
        name
        description
        inputSchema
      }
    }
  }
`;

test('the Agents page creates an agent with tools, edits them, chats with it and deletes it after a confirmation', async () => {
  const { page } = watched;
  await signIn(page, origin, tenant.member.token);
  await page.getByRole('link', { name: 'Agents' }).click();
  await page.getByRole('heading', { name: 'Agents', level: 1 }).waitFor();
  const name = uniqueText('Forecaster');
  const weather = WEATHER;

  const form = page.getByRole('form', { name: 'New agent' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('System prompt').fill('You answer questions about the weather.');
  await form.getByLabel('Tools (JSON)').fill('{"name": "get_weather"}');
  await form.getByRole('button', { name: 'Create agent' }).click();
  await expectText(form.getByRole('alert'), /Tools must be a JSON array/);
  await expectFocused(page, 'Tools (JSON)');

  // The gateway checks what the console cannot: an input schema that is not JSON Schema.
  await form.getByLabel('Tools (JSON)').fill(JSON.stringify([{ ...weather, inputSchema: { type: 'no-such-type' } }]));
  await form.getByRole('button', { name: 'Create agent' }).click();
  await expectText(form.getByRole('alert'), /\(BAD_USER_INPUT\)/);

  await form.getByLabel('Tools (JSON)').fill(JSON.stringify([weather], null, 2));
  await form.getByRole('button', { name: 'Create agent' }).click();
  await expectText(page.getByRole('status'), new RegExp(`Agent ${name} created`));
  const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name }) });
  await expectText(card, /get_weather — Current weather for a city/);
  let stored = (await ok(env.gw, tenant.member.token, AGENTS)).agents.find(
    (agent: { name: string }) => agent.name === name,
  );
  expect(stored.tools).toEqual([weather]);

  await card.getByRole('button', { name: `Edit ${name}` }).click();
  const edit = page.getByRole('form', { name: `Edit ${name}` });
  await expectFocused(page, 'Name');
  await expect(edit.getByLabel('Tools (JSON)').inputValue()).resolves.toBe(JSON.stringify([weather], null, 2));
  const time = CLOCK;
  await edit.getByLabel('Tools (JSON)').fill(JSON.stringify([weather, time]));
  await edit.getByRole('button', { name: 'Save agent' }).click();
  await expectText(page.getByRole('status'), new RegExp(`Agent ${name} saved`));
  await expectText(card, /get_weather — Current weather for a city[\s\S]*get_time — Local time/);
  // The form the focus was in is gone: it moves to the saved agent.
  await expectFocused(page, name);
  stored = (await ok(env.gw, tenant.member.token, AGENTS)).agents.find(
    (agent: { name: string }) => agent.name === name,
  );
  expect(stored.tools).toEqual([weather, time]);
  await screenshot(page, 'agents');

  // Chat with the agent: its tools go upstream, and its tool call is answered in the chat.
  await page.getByRole('link', { name: 'Chat' }).click();
  await page.getByLabel('Agent', { exact: true }).selectOption({ label: name });
  const text = `${uniqueText('agent')} ${toolMarker('get_time', { zone: 'UTC' })}`;
  await page.getByRole('textbox', { name: 'Message' }).fill(text);
  await page.keyboard.press('Enter');
  await expectFocused(page, 'Output of get_time');
  await page.keyboard.type('noon');
  await page.keyboard.press('Enter');
  await expectText(lastReply(page), /platform key · \d+ in/);
  const [first] = conversationRequests(text);
  expect((first.body?.tools as Array<{ name: string }>).map((tool) => tool.name)).toEqual(['get_weather', 'get_time']);

  await page.getByRole('link', { name: 'Agents' }).click();
  await card.getByRole('button', { name: `Delete ${name}` }).click();
  const dialog = page.getByRole('alertdialog', { name: `Delete ${name}?` });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  await card.waitFor();
  await expectFocused(page, `Delete ${name}`);

  await card.getByRole('button', { name: `Delete ${name}` }).click();
  // The harmless choice has the focus when the dialog opens.
  await expectFocused(page, 'Cancel');
  await page.keyboard.press('Tab');
  await expectFocused(page, 'Delete agent');
  await page.keyboard.press('Enter');
  await expectText(page.getByRole('status'), new RegExp(`Agent ${name} deleted`));
  await card.waitFor({ state: 'detached' });
  await expectFocused(page, 'Agents');
  expect(
    (await ok(env.gw, tenant.member.token, AGENTS)).agents.some((agent: { name: string }) => agent.name === name),
  ).toBe(false);
});

test('readable at 390 px: the Agents page and a tool-call card fit the screen', async () => {
  const narrow = await openPage(browser, origin, { width: 390, height: 844 });
  try {
    const { page } = narrow;
    await signIn(page, origin, tenant.member.token);
    const text = `${uniqueText('narrow')} ${toolMarker('get_weather', { city: 'A city with a very long name indeed' })}`;
    await offerTools(page, [WEATHER]);
    await page.getByRole('textbox', { name: 'Message' }).fill(text);
    await page.keyboard.press('Enter');
    await expectFocused(page, 'Output of get_weather');
    expect(await tooWide(page)).toEqual([]);
    await page.keyboard.type('fine');
    await page.keyboard.press('Enter');
    await expectText(lastReply(page), /platform key · \d+ in/);

    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('form', { name: 'New agent' }).waitFor();
    expect(await tooWide(page)).toEqual([]);
    narrow.expectClean();
  } finally {
    await narrow.close();
  }
});

function tooWide(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('body *')]
      .filter((element) => element.getBoundingClientRect().right > 390.5 && !element.closest('.table-wrap'))
      .map((element) => `${element.tagName.toLowerCase()}.${element.className}: ${element.textContent?.slice(0, 40)}`),
  );
}
