import {
  chat,
  chatTenant,
  openChat,
  refusedChat,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  usageRows,
  type ChatEnvironment,
  type ChatRun,
  type ChatTenant,
  type OpenChat,
} from '../support/chat-harness';
import { anthropicKey, createMember, storeAnthropicKey, type UserFixture } from '../support/fixtures';
import { sqlSimple } from '../support/sql';
import { bearer, wsClient } from '../support/ws-client';
import { errorCode } from '../support/graphql-client';

/**
 * Many chats at once never mix keys or replies, and the per-user and per-tenant stream limits
 * admit and refuse as configured.
 */

describe('40 concurrent chats by 8 users with 8 personal keys', () => {
  let env: ChatEnvironment;

  beforeAll(async () => {
    env = await startChatEnvironment({ ANTHROPIC_API_KEY: anthropicKey() });
  });

  afterAll(async () => {
    await env?.stop();
  });

  test('every upstream request carries its sender’s key and every client receives only its own reply', async () => {
    const USERS = 8;
    const PER_USER = 5;
    const tenant = await chatTenant(env.gw);
    const users: Array<{ user: UserFixture; key: string; credentialId: string }> = [];
    for (let i = 0; i < USERS; i++) {
      const user = i === 0 ? tenant.member : await createMember(env.gw, tenant.adminToken);
      const key = anthropicKey();
      users.push({ user, key, credentialId: await storeAnthropicKey(env.gw, user.token, 'PERSONAL', key) });
    }
    // A few milliseconds between tokens, so that the 40 streams interleave.
    env.anthropic.setBehaviour({ kind: 'stream', delayMs: 3 });

    // Each user multiplexes its five chats over one socket.
    const sockets = users.map(({ user }) => wsClient(env.gw.wsUrl, bearer(user.token), { lazy: false }));
    const sent: Array<{ owner: number; message: string }> = [];
    let runs: ChatRun[];
    try {
      runs = await Promise.all(
        users.flatMap(({ user }, owner) =>
          Array.from({ length: PER_USER }, (_, n) => {
            const message = uniqueText(`user${owner}-chat${n}`);
            sent.push({ owner, message });
            return chat(env.gw, user.token, { message, keySource: 'AUTO' }, sockets[owner]);
          }),
        ),
      );
    } finally {
      await Promise.all(sockets.map(async (socket) => socket.dispose()));
    }

    expect(env.anthropic.requests).toHaveLength(USERS * PER_USER);
    const requestIds = new Set<string>();
    for (const [i, run] of runs.entries()) {
      const { owner, message } = sent[i];
      expect(run.errors).toBeUndefined();
      expect(run.started).toMatchObject({ keySource: 'PERSONAL' });
      expect(run.completed).toBeDefined();
      expect(run.text).toBe(`Echo: ${message}`);
      const upstream = upstreamFor(env.anthropic, message);
      expect(upstream).toHaveLength(1);
      expect(upstream[0].apiKey).toBe(users[owner].key);
      expect(upstream[0].body?.messages).toEqual([{ role: 'user', content: message }]);
      requestIds.add(run.started!.requestId);
    }
    expect(requestIds.size).toBe(USERS * PER_USER);

    // One usage row per chat, attributed to its sender and the sender's credential.
    for (const [i, run] of runs.entries()) {
      const rows = await usageRows(run.started!.requestId);
      const { owner } = sent[i];
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        user_id: users[owner].user.userId,
        credential_id: users[owner].credentialId,
        status: 'completed',
      });
    }
    // Every upstream request is one of ours (no key outside the eight).
    const keys = new Set(users.map(({ key }) => key));
    expect(env.anthropic.requests.every((request) => keys.has(request.apiKey!))).toBe(true);
  }, 60_000);
});

describe('concurrent stream limits (KEYWARD_MAX_STREAMS_PER_USER=2, KEYWARD_MAX_STREAMS_PER_TENANT=4)', () => {
  let env: ChatEnvironment;
  let tenant: ChatTenant;
  const open: OpenChat[] = [];

  beforeAll(async () => {
    env = await startChatEnvironment({
      ANTHROPIC_API_KEY: anthropicKey(),
      KEYWARD_MAX_STREAMS_PER_USER: '2',
      KEYWARD_MAX_STREAMS_PER_TENANT: '4',
    });
    tenant = await chatTenant(env.gw);
    // Messages starting with "hold" hang upstream until cancelled; "slow" ones take about a second.
    env.anthropic.setBehaviour((request) => {
      const messages = (request.body?.messages ?? []) as Array<{ content: string }>;
      const text = messages[messages.length - 1]?.content ?? '';
      if (text.startsWith('hold')) return { kind: 'hang' };
      if (text.startsWith('slow'))
        return { kind: 'stream', tokens: Array.from({ length: 10 }, (_, i) => ` t${i}`), delayMs: 100 };
      return undefined;
    });
  });

  afterEach(async () => {
    for (const chat of open.splice(0)) {
      chat.unsubscribe();
      await chat.dispose();
    }
    await waitUntil(() => env.gw.gateway.services.chat.streams.size === 0, 'every stream to be released');
  });

  afterAll(async () => {
    await env?.stop();
  });

  const started = async (token: string, prefix: 'hold' | 'slow'): Promise<OpenChat> => {
    const chat = openChat(env.gw, token, { message: uniqueText(prefix) });
    open.push(chat);
    await chat.waitForStarted();
    return chat;
  };

  const usageCount = async (userId: string) =>
    Number(
      (await sqlSimple<{ n: string }>('select count(*) as n from usage_records where user_id = $1', [userId]))[0].n,
    );

  test("a user's third concurrent chat is RATE_LIMITED; another user is unaffected; a finished stream frees its slot", async () => {
    const user = await createMember(env.gw, tenant.adminToken);
    const other = await createMember(env.gw, tenant.adminToken);
    const slow = await started(user.token, 'slow');
    await started(user.token, 'hold');

    const refused = uniqueText('third');
    const res = await chat(env.gw, user.token, { message: refused });
    expect(errorCode(res)).toBe('RATE_LIMITED');
    expect(res.errors![0].extensions).toMatchObject({ retryAfterSeconds: 1 });
    expect(res.events).toEqual([]);
    expect(upstreamFor(env.anthropic, refused)).toHaveLength(0);

    const others = await chat(env.gw, other.token, { message: uniqueText('other') });
    expect(others.completed).toBeDefined();

    const finished = await slow.done;
    expect(finished.completed).toBeDefined();
    const usedBefore = await usageCount(user.userId);
    const admitted = await chat(env.gw, user.token, { message: uniqueText('admitted') });
    expect(admitted.completed).toBeDefined();
    // The refused chat left no usage row; the admitted one did.
    expect(await usageCount(user.userId)).toBe(usedBefore + 1);
  });

  test('the tenant limit refuses a fifth stream in the tenant, not one in another tenant; closing a stream frees its slot', async () => {
    const users = [await createMember(env.gw, tenant.adminToken), await createMember(env.gw, tenant.adminToken)];
    const held = [
      await started(users[0].token, 'hold'),
      await started(users[0].token, 'hold'),
      await started(users[1].token, 'hold'),
      await started(users[1].token, 'hold'),
    ];
    const third = await createMember(env.gw, tenant.adminToken);
    expect(await refusedChat(env.gw, third.token, { message: uniqueText('fifth') })).toBe('RATE_LIMITED');

    const elsewhere = await chatTenant(env.gw);
    expect((await chat(env.gw, elsewhere.member.token, { message: uniqueText('elsewhere') })).completed).toBeDefined();

    held[0].unsubscribe();
    // The slot is released once the cancelled stream has recorded its usage.
    await waitUntil(() => env.gw.gateway.services.chat.streams.size === 3, 'the cancelled stream to be released');
    expect((await chat(env.gw, third.token, { message: uniqueText('now') })).completed).toBeDefined();
  });
});

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
