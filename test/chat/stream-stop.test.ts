import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { allAuditEvents } from '../support/audit-helpers';
import {
  chatTenant,
  messageRows,
  openChat,
  startGatewayRetrying,
  uniqueText,
  upstreamFor,
  usageRow,
  type ChatTenant,
  type OpenChat,
} from '../support/chat-harness';
import { DELETE_TENANT, REVOKE_TOKEN } from '../support/documents';
import { anthropicKey, issueToken, storeAnthropicKey, uniqueName } from '../support/fixtures';
import { ok } from '../support/graphql-client';
import type { TestGateway } from '../support/gateway';
import { sql } from '../support/sql';

/**
 * Open streams end at once, with a ChatFailed naming why, when what they run on goes away: the
 * credential they use is deleted, their tenant is deleted (crypto-shredded), or the token that
 * opened them is revoked. On the gateway that made the change and, through the LISTEN/NOTIFY
 * invalidation channel, on every other gateway on the same database. The partial reply and its
 * usage are still recorded where they still have a place.
 */

const MODEL = 'claude-haiku-4-5';
/** Long enough that no stream in this file could finish on its own before it is stopped. */
const SLOW_TOKENS = 400;
const TOKEN_DELAY_MS = 50;

let anthropic: AnthropicServer;
let gwA: TestGateway;
let gwB: TestGateway;
const chats: OpenChat[] = [];

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  // Messages starting with "slow" stream slowly; "short" ones finish after a few slow tokens.
  anthropic.setBehaviour((request) => {
    const messages = (request.body?.messages ?? []) as Array<{ content: unknown }>;
    const text = String(messages.at(-1)?.content ?? '');
    if (text.startsWith('slow'))
      return { kind: 'stream', tokens: Array(SLOW_TOKENS).fill('tok '), delayMs: TOKEN_DELAY_MS };
    if (text.startsWith('short')) return { kind: 'stream', tokens: Array(30).fill('ok '), delayMs: TOKEN_DELAY_MS };
    return undefined;
  });
  const env = { ANTHROPIC_BASE_URL: anthropic.baseURL, KEYWARD_DRAIN_SECONDS: '1' };
  gwA = await startGatewayRetrying({ env });
  gwB = await startGatewayRetrying({ env });
}, 60_000);

afterAll(async () => {
  await Promise.all(chats.map((open) => open.dispose()));
  await gwA?.stop();
  await gwB?.stop();
  await anthropic?.close();
});

function slowChat(
  gw: TestGateway,
  token: string,
  keySource: 'TENANT' | 'PERSONAL',
  prefix = 'slow',
): { open: OpenChat; text: string } {
  const text = uniqueText(prefix);
  const open = openChat(gw, token, { message: text, model: MODEL, keySource });
  chats.push(open);
  return { open, text };
}

async function tenantWithKeys(gw: TestGateway): Promise<ChatTenant & { tenantKeyId: string; personalKeyId: string }> {
  const tenant = await chatTenant(gw);
  const tenantKeyId = await storeAnthropicKey(gw, tenant.adminToken, 'TENANT', anthropicKey());
  const personalKeyId = await storeAnthropicKey(gw, tenant.member.token, 'PERSONAL', anthropicKey());
  return { ...tenant, tenantKeyId, personalKeyId };
}

const DELETE_CREDENTIAL = /* GraphQL */ `
  mutation ($id: ID!) {
    deleteCredential(id: $id)
  }
`;

function expectStopped(open: OpenChat, code: string): void {
  expect(open.run.failed).toEqual({ __typename: 'ChatFailed', code, message: expect.any(String), retryable: false });
  expect(open.run.typenames.at(-1)).toBe('ChatFailed');
}

/** The upstream request was aborted, not played to its end. */
function expectUpstreamCut(text: string): void {
  const [request] = upstreamFor(anthropic, text);
  expect(request.completed).toBe(false);
  expect(request.tokensSent).toBeLessThan(SLOW_TOKENS);
}

test('deleting the credential a stream uses ends it with CREDENTIAL_DELETED; its partial reply and usage are recorded; a stream on another key runs on', async () => {
  const tenant = await tenantWithKeys(gwA);
  const onTenantKey = slowChat(gwA, tenant.member.token, 'TENANT');
  const onPersonalKey = slowChat(gwA, tenant.member.token, 'PERSONAL', 'short');
  await onTenantKey.open.waitForDeltas(2);
  await onPersonalKey.open.waitForDeltas(1);

  await ok(gwA, tenant.adminToken, DELETE_CREDENTIAL, { id: tenant.tenantKeyId });

  const stopped = await onTenantKey.open.done;
  expectStopped(onTenantKey.open, 'CREDENTIAL_DELETED');
  expectUpstreamCut(onTenantKey.text);
  const usage = await usageRow(stopped.started!.requestId);
  expect(usage).toMatchObject({
    status: 'failed',
    error_code: 'CREDENTIAL_DELETED',
    key_source: 'TENANT',
    credential_id: null,
  });
  expect(usage.output_tokens).toBeGreaterThanOrEqual(2);
  const [, reply] = await messageRows(stopped.started!.conversationId);
  expect(reply).toMatchObject({ role: 'ASSISTANT', status: 'failed', content: stopped.text });

  // The stream on the member's personal key was not stopped.
  const other = await onPersonalKey.open.done;
  expect(other.typenames.at(-1)).toBe('ChatCompleted');
}, 30_000);

test('deleting the tenant ends its streams with TENANT_DELETED; the usage survives in its audit trail', async () => {
  const tenant = await tenantWithKeys(gwA);
  const { open, text } = slowChat(gwA, tenant.member.token, 'TENANT');
  await open.waitForDeltas(2);

  await ok(gwA, gwA.platformToken, DELETE_TENANT, { id: tenant.tenantId });

  const run = await open.done;
  expectStopped(open, 'TENANT_DELETED');
  expectUpstreamCut(text);
  // The tenant's rows are gone (no usage row, no conversation), but not its audit chain.
  expect(await sql('select 1 from usage_records where tenant_id = $1', [tenant.tenantId])).toEqual([]);
  const events = await allAuditEvents(gwA, gwA.platformToken, {
    tenantId: tenant.tenantId,
    action: 'chat.interrupted',
  });
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({
    requestId: run.started!.requestId,
    actorId: tenant.member.userId,
    targetId: tenant.tenantKeyId,
  });
  expect(JSON.parse(events[0].detail!)).toMatchObject({
    code: 'TENANT_DELETED',
    keySource: 'TENANT',
    model: MODEL,
    outputTokens: expect.any(Number),
  });
  expect(JSON.parse(events[0].detail!).outputTokens).toBeGreaterThanOrEqual(2);
}, 30_000);

test("revoking the token a stream was opened with ends it with TOKEN_REVOKED; the same user's stream on another token runs on", async () => {
  const tenant = await tenantWithKeys(gwA);
  const second = await issueToken(gwA, tenant.member.token, { name: uniqueName('second') });
  const onSecond = slowChat(gwA, second.token, 'PERSONAL');
  const onFirst = slowChat(gwA, tenant.member.token, 'PERSONAL', 'short');
  await onSecond.open.waitForDeltas(2);
  await onFirst.open.waitForDeltas(1);

  await ok(gwA, tenant.member.token, REVOKE_TOKEN, { id: second.id });

  const run = await onSecond.open.done;
  expectStopped(onSecond.open, 'TOKEN_REVOKED');
  expectUpstreamCut(onSecond.text);
  expect(await usageRow(run.started!.requestId)).toMatchObject({ status: 'failed', error_code: 'TOKEN_REVOKED' });
  expect((await onFirst.open.done).typenames.at(-1)).toBe('ChatCompleted');
}, 30_000);

describe('across gateway processes', () => {
  test('a stream on gateway B ends when the credential it uses is deleted through gateway A', async () => {
    const tenant = await tenantWithKeys(gwA);
    const { open, text } = slowChat(gwB, tenant.member.token, 'TENANT');
    await open.waitForDeltas(2);

    await ok(gwA, tenant.adminToken, DELETE_CREDENTIAL, { id: tenant.tenantKeyId });

    const run = await open.done;
    expectStopped(open, 'CREDENTIAL_DELETED');
    expectUpstreamCut(text);
    expect(await usageRow(run.started!.requestId)).toMatchObject({
      status: 'failed',
      error_code: 'CREDENTIAL_DELETED',
      credential_id: null,
    });
  }, 30_000);

  test('a stream on gateway B ends when its tenant is deleted through gateway A', async () => {
    const tenant = await tenantWithKeys(gwA);
    const { open, text } = slowChat(gwB, tenant.member.token, 'PERSONAL');
    await open.waitForDeltas(2);

    await ok(gwA, gwA.platformToken, DELETE_TENANT, { id: tenant.tenantId });

    await open.done;
    expectStopped(open, 'TENANT_DELETED');
    expectUpstreamCut(text);
  }, 30_000);
});
