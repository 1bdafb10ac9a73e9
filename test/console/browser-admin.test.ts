import type { Browser } from 'playwright-core';
import { chat, chatTenant, startChatEnvironment, type ChatEnvironment, type ChatTenant } from '../support/chat-harness';
import { launchBrowser, openPage, screenshot, signIn, type WatchedPage } from '../support/browser';
import { gql, ok } from '../support/graphql-client';
import { anthropicKey, createMember, storeAnthropicKey } from '../support/fixtures';

/** A tenant admin in a real browser: tokens, the audit log, usage, policy and the data key. */

let env: ChatEnvironment;
let browser: Browser;
let origin: string;
let tenant: ChatTenant;
let watched: WatchedPage;

beforeAll(async () => {
  [env, browser] = await Promise.all([startChatEnvironment(), launchBrowser()]);
  origin = env.gw.url.replace(/\/graphql$/, '');
  tenant = await chatTenant(env.gw);
  await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
  await chat(env.gw, tenant.member.token, { message: 'usage for the chart' });
  watched = await openPage(browser, origin);
  await signIn(watched.page, origin, tenant.adminToken);
});

afterAll(async () => {
  await browser?.close();
  await env?.stop();
});

afterEach(() => {
  watched.expectClean();
});

const ME = /* GraphQL */ `
  {
    me {
      email
    }
  }
`;

test('an admin issues a token (shown once) for a member and revokes it; the audit log shows both and verifies', async () => {
  const { page } = watched;
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.getByRole('tab', { name: 'Users', selected: true }).waitFor();
  await page.getByRole('cell', { name: tenant.member.email }).waitFor();
  await screenshot(page, 'admin-users');

  await page.getByRole('tab', { name: 'Tokens' }).click();
  // The list comes from apiTokens: tokens issued elsewhere too, such as the one createTenant issued.
  await page
    .getByRole('row')
    .filter({ hasText: 'initial admin token' })
    .filter({ hasText: tenant.adminEmail })
    .waitFor();
  await page.getByLabel('Token name').fill('laptop');
  await page.getByLabel('For user').selectOption({ label: tenant.member.email });
  await page.getByRole('button', { name: 'Issue token' }).click();
  const shown = page.getByLabel('New token');
  await shown.waitFor();
  const token = await shown.inputValue();
  expect(token).toMatch(/^kw_/);
  expect((await ok(env.gw, token, ME)).me.email).toBe(tenant.member.email);
  await screenshot(page, 'admin-tokens');

  await page.getByRole('button', { name: 'I have copied it' }).click();
  expect(await page.content()).not.toContain(token);
  await page.getByRole('button', { name: 'Revoke laptop' }).click();
  await page.getByRole('cell', { name: /^revoked/ }).waitFor();
  const afterRevoke = await gql(env.gw.url, ME, undefined, token);
  expect(afterRevoke.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

  await page.getByRole('tab', { name: 'Audit log' }).click();
  const table = page.getByRole('table', { name: 'Audit events, newest first' });
  await table.getByRole('cell', { name: 'token.revoke' }).first().waitFor();
  await table.getByRole('cell', { name: 'token.issue' }).first().waitFor();
  await page.getByLabel('Action').fill('token.revoke');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(waitForRows(table, (rows) => rows.length === 1 && rows[0].includes('token.revoke'))).resolves.toBe(true);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /Verified: the chain is intact \(\d+ events checked\)/ })
    .waitFor();
  await screenshot(page, 'admin-audit');
});

test('the audit log loads more events with its cursor', async () => {
  const { page } = watched;
  for (let i = 0; i < 55; i++) await ok(env.gw, tenant.adminToken, ISSUE, { input: { name: `bulk-${i}` } });
  await page.goto(`${origin}/admin/audit`);
  const table = page.getByRole('table', { name: 'Audit events, newest first' });
  await expect(waitForRows(table, (rows) => rows.length === 50)).resolves.toBe(true);
  await page.getByRole('button', { name: 'Load more' }).click();
  await expect(waitForRows(table, (rows) => rows.length > 55)).resolves.toBe(true);
  const seqs = (await table.locator('tbody tr td:first-child').allTextContents()).map(Number);
  expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
  expect(new Set(seqs).size).toBe(seqs.length);
});

test('usage for the tenant as a chart and a table; policy and data-key rotation', async () => {
  const { page } = watched;
  await page.getByRole('link', { name: 'Usage' }).click();
  await page.getByRole('radio', { name: /Whole tenant/ }).check();
  const table = page.getByRole('table', { name: 'Usage by day, model and key source' });
  await table.getByRole('cell', { name: 'claude-haiku-4-5' }).waitFor();
  await table.getByRole('cell', { name: 'personal key' }).waitFor();
  expect(await page.getByRole('img', { name: /^Cost per day/ }).count()).toBe(1);
  await screenshot(page, 'usage');

  await page.goto(`${origin}/admin/policy`);
  await page.getByLabel('Requests per minute per user (empty: no limit)').fill('120');
  await expect(page.getByLabel('Model calls per chat in a tool loop').inputValue()).resolves.toBe('8');
  await page.getByLabel('Model calls per chat in a tool loop').fill('3');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByRole('status').filter({ hasText: 'Policy saved.' }).waitFor();
  expect(
    (await ok(env.gw, tenant.adminToken, `{ tenant { policy { requestsPerMinute maxSteps } } }`)).tenant.policy,
  ).toEqual({ requestsPerMinute: 120, maxSteps: 3 });
  await screenshot(page, 'admin-policy');

  await page.getByRole('tab', { name: 'Data key' }).click();
  await page.getByRole('button', { name: 'Rotate data key' }).click();
  await page
    .getByRole('status')
    .filter({ hasText: /Rotated: data key version 2/ })
    .waitFor();
});

test('an auditor sees the audit log and the policy read-only, and no user or token pages', async () => {
  const auditor = await createMember(env.gw, tenant.adminToken, 'AUDITOR');
  const page = watched.page;
  // Auditors cannot chat, but the chat page (its Message box disabled) is still where they land.
  await signIn(page, origin, auditor.token);
  expect(await page.getByRole('textbox', { name: 'Message' }).isDisabled()).toBe(true);
  await page.getByRole('link', { name: 'Admin' }).click();
  await page.getByRole('tab', { name: 'Policy', selected: true }).waitFor();
  expect(await page.getByRole('tab').allTextContents()).toEqual(['Policy', 'Audit log']);
  expect(await page.getByRole('button', { name: 'Save policy' }).count()).toBe(0);
  await page.getByRole('tab', { name: 'Audit log' }).click();
  await page
    .getByRole('table', { name: 'Audit events, newest first' })
    .getByRole('cell', { name: 'token.issue' })
    .first()
    .waitFor();
  await signIn(page, origin, tenant.adminToken);
});

const ISSUE = /* GraphQL */ `
  mutation ($input: IssueApiTokenInput!) {
    issueApiToken(input: $input) {
      apiToken {
        id
      }
    }
  }
`;

/** Polls the table body until `check` holds for its rows' text; false after 10 s. */
async function waitForRows(
  table: import('playwright-core').Locator,
  check: (rows: string[]) => boolean,
): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const rows = await table.locator('tbody tr').allTextContents();
    if (check(rows)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
