import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import {
  chat,
  chatTenant,
  startChatEnvironment,
  uniqueText,
  usageRows,
  type ChatEnvironment,
} from '../support/chat-harness';
import { ISSUE_TOKEN } from '../support/documents';
import { anthropicKey, createMember, storeAnthropicKey, uniqueName } from '../support/fixtures';
import { gql } from '../support/graphql-client';
import { sql } from '../support/sql';
import { bearer, wsClient, wsRequest } from '../support/ws-client';

/**
 * docs/security.md "Client addresses and request ids": X-Forwarded-For counts only from proxies
 * named by KEYWARD_TRUST_PROXY (none by default), on HTTP and WebSocket alike, and the request id
 * that audit and usage rows carry is always the gateway's own.
 */

const FORGED = '198.51.100.23';
const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$/;

/** The audit row of the token that issueApiToken created. */
const tokenIssueRow = async (tokenId: string) =>
  (
    await sql<{ ip: string; request_id: string }>(
      `select ip, request_id from audit_events where action = 'token.issue' and target_id = $1`,
      [tokenId],
    )
  )[0];

/** issueApiToken for oneself over HTTP with extra headers; returns the new token's id and the answer's x-request-id. */
async function issueOverHttp(url: string, token: string, headers: Record<string, string>) {
  const res = await gql<{ issueApiToken: { apiToken: { id: string } } }>(
    url,
    ISSUE_TOKEN,
    { input: { name: uniqueName('addr') } },
    token,
    headers,
  );
  expect(res.errors).toBeUndefined();
  return { tokenId: res.data!.issueApiToken.apiToken.id, requestId: res.requestId! };
}

/** The same over a graphql-ws connection whose upgrade request carries `headers`. */
async function issueOverWs(wsUrl: string, token: string, headers: Record<string, string>) {
  class WithHeaders extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const client = wsClient(wsUrl, bearer(token), { webSocketImpl: WithHeaders });
  try {
    const res = await wsRequest<{ issueApiToken: { apiToken: { id: string } } }>(client, ISSUE_TOKEN, {
      input: { name: uniqueName('addr') },
    });
    expect(res.errors).toBeUndefined();
    return { tokenId: res.data!.issueApiToken.apiToken.id };
  } finally {
    await client.dispose();
  }
}

describe.each([
  ['without KEYWARD_TRUST_PROXY', undefined, LOOPBACK],
  ['with KEYWARD_TRUST_PROXY=loopback', 'loopback', new RegExp(`^${FORGED.replace(/\./g, '\\.')}$`)],
])('%s', (_name, trustProxy, expectedIp) => {
  let env: ChatEnvironment;
  beforeAll(async () => {
    env = await startChatEnvironment({ KEYWARD_TRUST_PROXY: trustProxy });
  });
  afterAll(() => env?.stop());

  test('X-Forwarded-For sets the audit IP only through a trusted proxy, on HTTP and WebSocket', async () => {
    const tenant = await chatTenant(env.gw);
    const member = await createMember(env.gw, tenant.adminToken, 'MEMBER');
    const overHttp = await issueOverHttp(env.gw.url, member.token, { 'x-forwarded-for': FORGED });
    expect((await tokenIssueRow(overHttp.tokenId)).ip).toMatch(expectedIp);
    const overWs = await issueOverWs(env.gw.wsUrl, member.token, { 'x-forwarded-for': FORGED });
    expect((await tokenIssueRow(overWs.tokenId)).ip).toMatch(expectedIp);
  });

  test("a client's X-Request-Id, even an earlier chat's, never becomes the id of audit or usage rows", async () => {
    const tenant = await chatTenant(env.gw);
    await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
    const earlier = await chat(env.gw, tenant.member.token, { message: uniqueText('earlier') });
    const chatRequestId = earlier.started!.requestId;
    const chatAuditRows = async () =>
      (
        await sql<{ action: string }>('select action from audit_events where request_id = $1 order by seq', [
          chatRequestId,
        ])
      ).map((row) => row.action);
    const auditBefore = await chatAuditRows();
    expect(auditBefore.length).toBeGreaterThan(0);
    expect(await usageRows(chatRequestId)).toHaveLength(1);

    for (const clientRequestId of [chatRequestId, `client-${randomBytes(8).toString('hex')}`]) {
      const issued = await issueOverHttp(env.gw.url, tenant.member.token, { 'x-request-id': clientRequestId });
      expect(issued.requestId).not.toBe(clientRequestId);
      expect(issued.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect((await tokenIssueRow(issued.tokenId)).request_id).toBe(issued.requestId);
      // The client's id is logged beside the gateway's, as what it is.
      const line = env.gw.logs
        .parsed()
        .find((each) => each.msg === 'graphql operation' && each.requestId === issued.requestId);
      expect(line).toMatchObject({ clientRequestId });
    }
    expect(await chatAuditRows()).toEqual(auditBefore);
    expect(await usageRows(chatRequestId)).toHaveLength(1);
  });
});
