import type { Browser } from 'playwright-core';
import { waitForClose } from '../support/anthropic-server';
import {
  chatTenant,
  startChatEnvironment,
  upstreamFor,
  usageRows,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { expectText, launchBrowser, openPage, screenshot, signIn, tabTo, type WatchedPage } from '../support/browser';
import { anthropicKey } from '../support/fixtures';
import { ok } from '../support/graphql-client';
import { sql } from '../support/sql';

/**
 * A member in a real browser: sign-in, personal keys, model selection and streaming chat,
 * against a real gateway on PostgreSQL and the local Anthropic server.
 */

let env: ChatEnvironment;
let browser: Browser;
let origin: string;
let tenant: ChatTenant;
let watched: WatchedPage;

const CREDENTIALS = /* GraphQL */ `
  {
    credentials {
      id
      provider
      scope
    }
  }
`;

beforeAll(async () => {
  [env, browser] = await Promise.all([startChatEnvironment({ ANTHROPIC_API_KEY: anthropicKey() }), launchBrowser()]);
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

async function deletePersonalKeys(token: string) {
  const { credentials } = await ok(env.gw, token, CREDENTIALS);
  for (const row of credentials)
    await ok(env.gw, token, `mutation ($id: ID!) { deleteCredential(id: $id) }`, { id: row.id });
}

test('a wrong token gets a clear message; the right one signs in; Sign out forgets it', async () => {
  const { page } = watched;
  await page.goto(`${origin}/`);
  await screenshot(page, 'sign-in', false);
  await page.getByLabel('Token').fill('kw_this-token-does-not-exist-0000000000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectText(page.getByRole('alert'), /not accepted/);
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

  await signIn(page, origin, tenant.member.token);
  expect(await page.evaluate(() => sessionStorage.getItem('keyward.token'))).toBe(tenant.member.token);
  expect(await page.evaluate(() => localStorage.length + document.cookie.length)).toBe(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Token').waitFor();
  expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
});

test('save, test and delete a personal key; the personal option is disabled before the key exists and enabled after', async () => {
  const { page } = watched;
  await deletePersonalKeys(tenant.member.token);
  await signIn(page, origin, tenant.member.token);
  await page.getByRole('link', { name: 'Keys & models' }).click();
  await page.getByRole('tab', { name: 'Model Selection' }).click();
  const personal = page.getByRole('radio', { name: 'Claude Haiku 4.5 (personal key)' });
  await expect(personal.isDisabled()).resolves.toBe(true);
  await expect(page.getByRole('radio', { name: 'Claude Haiku 4.5 (platform key)' }).isEnabled()).resolves.toBe(true);
  // claude-sonnet-4-5 retired on 2026-11-30 (shipped catalog): offered with the reason, never selectable.
  const retired = page.getByRole('radio', { name: 'Claude Sonnet 4.5 (platform key)' });
  await expect(retired.isDisabled()).resolves.toBe(true);
  await expect(retired.getAttribute('aria-describedby')).resolves.toBeTruthy();
  await expectText(
    page.locator(`#${(await retired.getAttribute('aria-describedby'))!}`),
    /Unavailable: the provider retired this model on 2026-11-30/,
  );
  await expectText(
    page.locator(
      `#${(await page.getByRole('radio', { name: 'Claude Opus 4.5 (platform key)' }).getAttribute('aria-describedby'))!}`,
    ),
    /retires 2027-01-22/,
  );

  await page.getByRole('tab', { name: 'API Keys' }).click();
  const row = page.getByRole('form', { name: 'Anthropic' }).first();
  await expectText(row, /No key/);
  await row.getByLabel('Anthropic API Key').fill('not-a-key');
  await row.getByRole('button', { name: 'Save Key' }).click();
  await expectText(row.getByRole('alert'), /should start with sk-ant-/);
  expect(env.anthropic.requests).toHaveLength(0);

  const key = anthropicKey();
  await row.getByLabel('Anthropic API Key').fill(key);
  await row.getByRole('button', { name: 'Save Key' }).click();
  await expectText(row, new RegExp(`Key saved.*ends in ${escape(key.slice(-4))}.*last used never`));
  expect(await row.getByLabel('Anthropic API Key').inputValue()).toBe('');
  expect(await page.content()).not.toContain(key.slice(0, -4));

  await row.getByRole('button', { name: 'Test Key' }).click();
  await expectText(row.getByRole('status'), /Test: The provider accepted this key/);
  await expectText(row, /last test: accepted/);
  await screenshot(page, 'api-keys');

  await page.getByRole('tab', { name: 'Model Selection' }).click();
  await expect(personal.isEnabled()).resolves.toBe(true);
  await personal.check();
  await screenshot(page, 'model-selection');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expectText(page.getByRole('status'), /now use Claude Haiku 4.5 \(personal key\)/);

  await page.getByRole('tab', { name: 'API Keys' }).click();
  await row.getByRole('button', { name: 'Delete Key' }).click();
  await expectText(row, /No key/);
  expect((await ok(env.gw, tenant.member.token, CREDENTIALS)).credentials).toEqual([]);
});

test('a reply streams in token by token and ends with its key source, model, tokens and cost', async () => {
  const { page } = watched;
  await deletePersonalKeys(tenant.member.token);
  await signIn(page, origin, tenant.member.token);
  const tokens = Array.from({ length: 12 }, (_, i) => `${i ? ' ' : ''}word${i}`);
  env.anthropic.setBehaviour({ kind: 'stream', tokens, delayMs: 120, inputTokens: 21 });
  await page.getByRole('textbox', { name: 'Message' }).fill('Tell me something');
  await page.getByRole('button', { name: 'Send' }).click();
  const reply = page.locator('.turn.assistant').last();
  await expectText(reply.locator('.text'), /word2/);
  // Still streaming: part of the reply is on screen before the upstream sent the rest.
  expect(await reply.locator('.text').textContent()).not.toContain('word11');
  await page.getByRole('button', { name: 'Stop' }).waitFor();
  await expectText(reply, /word11[\s\S]*claude-haiku-4-5 · platform key · 21 in \/ 12 out tokens · \$0\.0000/);
  await screenshot(page, 'chat');
  await expectText(page.getByRole('navigation', { name: 'Conversations' }), /Tell me something/);
});

test('Stop mid-stream closes the upstream request and keeps the partial reply', async () => {
  const { page } = watched;
  await signIn(page, origin, tenant.member.token);
  const tokens = Array.from({ length: 50 }, (_, i) => `${i ? ' ' : ''}t${i}`);
  env.anthropic.setBehaviour({ kind: 'stream', tokens, delayMs: 100 });
  const message = `stop me ${Date.now()}`;
  await page.getByRole('textbox', { name: 'Message' }).fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
  const reply = page.locator('.turn.assistant').last();
  await expectText(reply.locator('.text'), /t3/);
  await page.getByRole('button', { name: 'Stop' }).click();
  const [upstream] = upstreamFor(env.anthropic, message);
  await waitForClose(upstream, 5_000);
  expect(upstream.completed).toBe(false);
  expect(upstream.tokensSent).toBeLessThan(tokens.length);
  await expectText(reply, /stopped/);
  await page.getByRole('button', { name: 'Send' }).waitFor();
});

test('an error is shown in words with the next step', async () => {
  const { page } = watched;
  await signIn(page, origin, tenant.member.token);
  env.anthropic.setBehaviour({ kind: 'http-error', status: 401 });
  await page.getByRole('textbox', { name: 'Message' }).fill('this will fail');
  await page.getByRole('button', { name: 'Send' }).click();
  const alert = page.locator('.turn.assistant').last().getByRole('alert');
  await expectText(
    alert,
    /The provider rejected the key\. Replace it with a valid key\. Open API Keys \(INVALID_PROVIDER_KEY\)/,
  );
  await screenshot(page, 'chat-error');
  await alert.getByRole('link', { name: 'Open API Keys' }).click();
  await page.getByRole('tab', { name: 'API Keys', selected: true }).waitFor();
});

test('a reply containing markup is shown as text and runs nothing', async () => {
  const { page } = watched;
  await signIn(page, origin, tenant.member.token);
  const markup = ['<img src=x onerror="window.__pwned = 1">', ' <script>window.__pwned = 2</script>', ' <b>bold</b>'];
  env.anthropic.setBehaviour({ kind: 'stream', tokens: markup });
  await page.getByRole('textbox', { name: 'Message' }).fill('<img src=y onerror="window.__pwned = 3">');
  await page.getByRole('button', { name: 'Send' }).click();
  const reply = page.locator('.turn.assistant').last();
  await expectText(reply, /platform key/);
  expect(await reply.locator('.text').textContent()).toBe(markup.join(''));
  expect(await page.locator('.messages img, .messages script, .messages b').count()).toBe(0);
  await page.waitForTimeout(200);
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
});

test('keyboard only: sign in, save a key, choose it and chat', async () => {
  await deletePersonalKeys(tenant.member.token);
  const keyboard = await openPage(browser, origin);
  try {
    const { page } = keyboard;
    await page.goto(`${origin}/`);
    await tabTo(page, 'Token');
    await page.keyboard.type(tenant.member.token);
    await page.keyboard.press('Enter');
    await page.getByRole('textbox', { name: 'Message' }).waitFor();

    await tabTo(page, 'Keys & models');
    await page.keyboard.press('Enter');
    await page.getByRole('tab', { name: 'API Keys', selected: true }).waitFor();
    await tabTo(page, 'Anthropic API Key');
    const key = anthropicKey();
    await page.keyboard.type(key);
    await page.keyboard.press('Enter');
    await expectText(page.getByRole('form', { name: 'Anthropic' }).first(), /Key saved/);

    await tabTo(page, 'API Keys');
    await page.keyboard.press('ArrowRight');
    await page.getByRole('tab', { name: 'Model Selection', selected: true }).waitFor();
    await tabTo(page, 'Claude Haiku 4.5 (personal key)');
    await page.keyboard.press('Space');
    await tabTo(page, 'Apply');
    await page.keyboard.press('Enter');
    await expectText(page.getByRole('status'), /personal key/);

    await tabTo(page, 'Chat');
    await page.keyboard.press('Enter');
    await tabTo(page, 'Message');
    await page.keyboard.type('typed with the keyboard');
    await page.keyboard.press('Enter');
    const reply = page.locator('.turn.assistant').last();
    await expectText(reply, /Echo: typed with the keyboard[\s\S]*personal key/);
    expect(await page.getByRole('button', { name: /^Model: Claude Haiku 4\.5 \(personal key\)/ }).count()).toBe(1);
    keyboard.expectClean();
  } finally {
    await keyboard.close();
  }
});

test('readable at 390 px: nothing is wider than the screen', async () => {
  const narrow = await openPage(browser, origin, { width: 390, height: 844 });
  try {
    const { page } = narrow;
    await signIn(page, origin, tenant.member.token);
    for (const path of ['/chat', '/settings/keys', '/settings/models', '/usage']) {
      await page.goto(`${origin}${path}`);
      await page.locator('main h1').first().waitFor();
      const tooWide = await page.evaluate(() =>
        [...document.querySelectorAll('body *')]
          .filter((element) => element.getBoundingClientRect().right > 390.5 && !element.closest('.table-wrap'))
          .map(
            (element) => `${element.tagName.toLowerCase()}.${element.className}: ${element.textContent?.slice(0, 40)}`,
          ),
      );
      expect({ path, tooWide }).toEqual({ path, tooWide: [] });
    }
    await page.goto(`${origin}/chat`);
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    await screenshot(page, 'chat-390px');
    narrow.expectClean();
  } finally {
    await narrow.close();
  }
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('each send carries a fresh clientRequestId, so a re-submitted chat would be refused rather than charged twice', async () => {
  const { page } = watched;
  await signIn(page, origin, tenant.member.token);
  const claimed = () =>
    sql<{ client_request_id: string; request_id: string }>(
      'select client_request_id, request_id from chat_client_requests where user_id = $1',
      [tenant.member.userId],
    );
  const before = new Set((await claimed()).map((row) => row.client_request_id));
  env.anthropic.setBehaviour({ kind: 'stream', tokens: ['one', ' reply'] });
  for (const message of ['First send', 'Second send']) {
    await page.getByRole('textbox', { name: 'Message' }).fill(message);
    await page.getByRole('button', { name: 'Send' }).click();
    await expectText(page.locator('.turn.assistant').last(), /one reply/);
  }
  const fresh = (await claimed()).filter((row) => !before.has(row.client_request_id));
  expect(fresh).toHaveLength(2);
  expect(fresh[0].client_request_id).not.toBe(fresh[1].client_request_id);
  for (const row of fresh) expect(await usageRows(row.request_id)).toHaveLength(1);
});
