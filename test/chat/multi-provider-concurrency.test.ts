import {
  chat,
  chatTenant,
  openAiUpstreamFor,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  usageRows,
  type ChatEnvironment,
  type ChatRun,
} from '../support/chat-harness';
import {
  anthropicKey,
  createMember,
  openAiKey,
  openRouterKey,
  storeProviderKey,
  type ChatProviderName,
  type UserFixture,
} from '../support/fixtures';
import { bearer, wsClient } from '../support/ws-client';

/**
 * 40 concurrent chats across Anthropic, OpenAI and OpenRouter with 8 personal keys: every upstream
 * request carries its sender's key for the right provider, and every client gets only its own reply.
 */

let env: ChatEnvironment;

beforeAll(async () => {
  env = await startChatEnvironment();
});

afterAll(async () => {
  await env?.stop();
});

const MODEL: Record<ChatProviderName, string> = {
  ANTHROPIC: 'claude-haiku-4-5',
  OPENAI: 'gpt-4.1-mini',
  OPENROUTER: 'google/gemini-2.5-flash',
};
const NEW_KEY: Record<ChatProviderName, () => string> = {
  ANTHROPIC: anthropicKey,
  OPENAI: openAiKey,
  OPENROUTER: openRouterKey,
};
const PROVIDERS: ChatProviderName[] = [
  'ANTHROPIC',
  'OPENAI',
  'OPENROUTER',
  'ANTHROPIC',
  'OPENAI',
  'OPENROUTER',
  'OPENAI',
  'OPENROUTER',
];

test('40 chats, 8 keys, 3 providers: right key upstream, own reply to each client, one usage row each', async () => {
  const PER_USER = 5;
  const tenant = await chatTenant(env.gw);
  const users: Array<{ user: UserFixture; provider: ChatProviderName; key: string; credentialId: string }> = [];
  for (const [i, provider] of PROVIDERS.entries()) {
    const user = i === 0 ? tenant.member : await createMember(env.gw, tenant.adminToken);
    const key = NEW_KEY[provider]();
    users.push({
      user,
      provider,
      key,
      credentialId: await storeProviderKey(env.gw, user.token, provider, 'PERSONAL', key),
    });
  }
  // A few milliseconds between tokens, so that the 40 streams interleave.
  env.anthropic.setBehaviour({ kind: 'stream', delayMs: 3 });
  env.openai.setBehaviour({ kind: 'stream', delayMs: 3 });
  env.openrouter.setBehaviour({ kind: 'stream', delayMs: 3 });

  const sockets = users.map(({ user }) => wsClient(env.gw.wsUrl, bearer(user.token), { lazy: false }));
  const sent: Array<{ owner: number; message: string }> = [];
  let runs: ChatRun[];
  try {
    runs = await Promise.all(
      users.flatMap(({ user, provider }, owner) =>
        Array.from({ length: PER_USER }, (_, n) => {
          const message = uniqueText(`user${owner}-chat${n}`);
          sent.push({ owner, message });
          return chat(env.gw, user.token, { message, model: MODEL[provider] }, sockets[owner]);
        }),
      ),
    );
  } finally {
    await Promise.all(sockets.map(async (socket) => socket.dispose()));
  }

  const count = (provider: ChatProviderName) => users.filter((u) => u.provider === provider).length * PER_USER;
  expect(env.anthropic.requests).toHaveLength(count('ANTHROPIC'));
  expect(env.openai.requests).toHaveLength(count('OPENAI'));
  expect(env.openrouter.requests).toHaveLength(count('OPENROUTER'));
  for (const [i, run] of runs.entries()) {
    const { owner, message } = sent[i];
    const { provider, key, user, credentialId } = users[owner];
    expect(run.errors).toBeUndefined();
    expect(run.started).toMatchObject({ keySource: 'PERSONAL', model: MODEL[provider] });
    expect(run.completed).toBeDefined();
    expect(run.text).toBe(`Echo: ${message}`);
    const upstream =
      provider === 'ANTHROPIC'
        ? upstreamFor(env.anthropic, message)
        : openAiUpstreamFor(provider === 'OPENAI' ? env.openai : env.openrouter, message);
    expect(upstream).toHaveLength(1);
    expect(upstream[0].apiKey).toBe(key);
    expect(upstream[0].body?.messages).toEqual([{ role: 'user', content: message }]);
    const rows = await usageRows(run.started!.requestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      user_id: user.userId,
      credential_id: credentialId,
      model: MODEL[provider],
      status: 'completed',
    });
  }
  // No upstream request carried a key outside the eight, or another provider's key.
  const keysOf = (provider: ChatProviderName) =>
    new Set(users.filter((u) => u.provider === provider).map((u) => u.key));
  expect(env.anthropic.requests.every((request) => keysOf('ANTHROPIC').has(request.apiKey!))).toBe(true);
  expect(env.openai.requests.every((request) => keysOf('OPENAI').has(request.apiKey!))).toBe(true);
  expect(env.openrouter.requests.every((request) => keysOf('OPENROUTER').has(request.apiKey!))).toBe(true);
}, 60_000);
