import { join } from 'node:path';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { chat, chatTenant, openChat, uniqueText, type ChatTenant, type OpenChat } from '../support/chat-harness';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { startSharedGateway, type TestGateway } from '../support/gateway';
import { ROOT } from '../support/gateway-process';
import { startNginx, type Nginx } from '../support/nginx';

/**
 * deploy/nginx/keyward.conf as docker-compose.yml runs it, with a real nginx in front of two
 * gateways: readiness, chats over WebSocket through it, and new sockets spread over both replicas.
 */

jest.setTimeout(60_000);

let anthropic: AnthropicServer;
let gwA: TestGateway;
let gwB: TestGateway;
let nginx: Nginx;
let tenant: ChatTenant;
const viaNginx = () => ({ wsUrl: `${nginx.url.replace(/^http/, 'ws')}/graphql` });

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  const env = { ANTHROPIC_BASE_URL: anthropic.baseURL, KEYWARD_DRAIN_SECONDS: '1' };
  gwA = await startSharedGateway({ env });
  gwB = await startSharedGateway({ env });
  const portOf = (gw: TestGateway) => Number(new URL(gw.url).port);
  nginx = await startNginx(join(ROOT, 'deploy/nginx/keyward.conf'), {
    'keyward-1:4000': portOf(gwA),
    'keyward-2:4000': portOf(gwB),
  });
  tenant = await chatTenant(gwA);
  await storeAnthropicKey(gwA, tenant.member.token, 'PERSONAL', anthropicKey());
});

afterAll(async () => {
  await nginx?.stop();
  await gwA?.stop();
  await gwB?.stop();
  await anthropic?.close();
});

test('/readyz answers through nginx', async () => {
  const response = await fetch(`${nginx.url}/readyz`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual(expect.objectContaining({ status: 'ready' }));
});

test('a chat streams to the end over a WebSocket through nginx', async () => {
  anthropic.setBehaviour({ kind: 'stream', tokens: [' one', ' two', ' three'] });
  const run = await chat(viaNginx(), tenant.member.token, { message: uniqueText('nginx') });
  expect(run.typenames).toEqual(['ChatStarted', 'ChatDelta', 'ChatDelta', 'ChatDelta', 'ChatCompleted']);
  expect(run.text).toBe(' one two three');
});

test('a new socket goes to the replica with fewer open connections (least_conn, not round robin)', async () => {
  anthropic.setBehaviour({ kind: 'stream', tokens: [' a', ' b'], stallAfter: 1 });
  const open: OpenChat[] = [];
  const openOne = async () => {
    const chatting = openChat(viaNginx(), tenant.member.token, { message: uniqueText('spread') });
    open.push(chatting);
    await chatting.waitForDeltas(1);
  };
  try {
    await openOne();
    // One short request between the two sockets: round robin would now send the second socket
    // to the replica that already holds the first one.
    expect((await fetch(`${nginx.url}/readyz`)).status).toBe(200);
    await openOne();
    expect(gwA.gateway.services.chat.streams.size).toBe(1);
    expect(gwB.gateway.services.chat.streams.size).toBe(1);
  } finally {
    for (const chatting of open) await chatting.dispose();
  }
});
