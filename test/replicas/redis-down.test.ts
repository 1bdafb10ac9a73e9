import {
  chat,
  chatTenant,
  refusedChat,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  type ChatEnvironment,
} from '../support/chat-harness';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { freePort } from '../support/gateway-process';

/**
 * KEYWARD_REDIS_URL set, but nothing answers there: the gateway goes on alone. Chats are admitted
 * on its own stream count, and the per-minute limit is still enforced, by rate-limiter-flexible's
 * in-memory insurance limiter (docs/operations.md, "Several replicas").
 */

let env: ChatEnvironment;

beforeAll(async () => {
  env = await startChatEnvironment({
    KEYWARD_REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    KEYWARD_MAX_STREAMS_PER_USER: '1',
  });
});

afterAll(async () => {
  await env?.stop();
});

test('with Redis unreachable, chats still run and the per-minute limit still holds (in memory)', async () => {
  const tenant = await chatTenant(env.gw, { requestsPerMinute: 2 });
  await storeAnthropicKey(env.gw, tenant.adminToken, 'TENANT', anthropicKey());

  for (const prefix of ['one', 'two']) {
    const run = await chat(env.gw, tenant.member.token, { message: uniqueText(prefix), clientRequestId: prefix });
    expect(run.typenames.at(-1)).toBe('ChatCompleted');
  }
  const refused = uniqueText('three');
  expect(await refusedChat(env.gw, tenant.member.token, { message: refused })).toBe('RATE_LIMITED');
  expect(upstreamFor(env.anthropic, refused)).toHaveLength(0);
  expect(env.gw.logs.parsed().map((line) => line.msg)).toEqual(
    expect.arrayContaining([expect.stringMatching(/^Redis unreachable/)]),
  );
});
