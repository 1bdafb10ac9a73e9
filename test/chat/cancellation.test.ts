import { waitForClose, type RecordedRequest } from '../support/anthropic-server';
import {
  chat,
  chatTenant,
  eventualUsageRow,
  expectedCost,
  messageRows,
  openChat,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  type ChatEnvironment,
  type ChatTenant,
  type OpenChat,
} from '../support/chat-harness';
import { CHAT } from '../support/documents';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { bearer, wsClient } from '../support/ws-client';

/**
 * docs/api.md: "Unsubscribing or closing the socket aborts the upstream request at once; the
 * partial reply is stored with status cancelled and its usage recorded (output tokens counted
 * from the deltas received)." The upstream streams a few tokens, one every 50 ms, then stalls:
 * it would keep the request open for minutes, so an upstream request that closes was aborted by
 * the gateway, not finished by the upstream (no timing bound needed to tell the two apart).
 */

/** Far less than the stalled upstream would wait; a request still open by then was not aborted. */
const ABORT_DEADLINE_MS = 10_000;
const TOKENS = Array.from({ length: 50 }, (_, i) => `${i === 0 ? '' : ' '}w${i}`);
const DELTAS_BEFORE_CANCEL = 3;

let env: ChatEnvironment;
let tenant: ChatTenant;
let key: string;
let credentialId: string;

beforeAll(async () => {
  env = await startChatEnvironment();
  tenant = await chatTenant(env.gw);
  key = anthropicKey();
  credentialId = await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', key);
});

beforeEach(() => {
  env.anthropic.reset();
  env.anthropic.setBehaviour(stallingAfter(DELTAS_BEFORE_CANCEL));
});

const stallingAfter = (tokens: number) =>
  ({ kind: 'stream', tokens: TOKENS, delayMs: 50, inputTokens: 40, stallAfter: tokens }) as const;

afterAll(async () => {
  await env?.stop();
});

/** The single upstream request of a chat, once it has arrived. */
async function upstreamOf(message: string): Promise<RecordedRequest> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const [request] = upstreamFor(env.anthropic, message);
    if (request) return request;
    if (Date.now() > deadline) throw new Error(`no upstream request for "${message}"`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * After the client went away: the stalled upstream request was closed by the gateway, with
 * nothing sent beyond what the client had; the partial reply and a 'cancelled' usage row were stored.
 */
async function expectCancelled(message: string, requestId: string, conversationId: string, received: string) {
  const upstream = await upstreamOf(message);
  await waitForClose(upstream, ABORT_DEADLINE_MS);
  expect(upstream.completed).toBe(false);
  expect(upstream.tokensSent).toBe(received.split(' ').length);

  const usage = await eventualUsageRow(requestId);
  const messages = await messageRows(conversationId);
  expect(messages.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
    { role: 'USER', content: message, status: 'complete' },
    { role: 'ASSISTANT', content: received, status: 'cancelled' },
  ]);
  expect(messages[1]).toMatchObject({ model: 'claude-haiku-4-5', key_source: 'PERSONAL' });
  const deltas = received.split(' ').length;
  expect(usage).toMatchObject({
    tenant_id: tenant.tenantId,
    user_id: tenant.member.userId,
    credential_id: credentialId,
    key_source: 'PERSONAL',
    model: 'claude-haiku-4-5',
    status: 'cancelled',
    error_code: null,
    input_tokens: 40,
    output_tokens: deltas,
  });
  expect(usage.cost_usd).toBeCloseTo(expectedCost('claude-haiku-4-5', 40, deltas), 12);
  expect(usage.ttft_ms).not.toBeNull();
  expect(usage.total_ms).toBeGreaterThanOrEqual(usage.ttft_ms!);
}

/** The gateway keeps serving on the same terms after a cancellation. */
async function expectStillServing() {
  env.anthropic.setBehaviour(undefined);
  const message = uniqueText('after');
  const run = await chat(env.gw, tenant.member.token, { message });
  expect(run.text).toBe(`Echo: ${message}`);
  expect(env.gw.gateway.services.chat.streams.size).toBe(0);
}

test('breaking out of client.iterate aborts the upstream request at once and keeps the partial reply', async () => {
  const message = uniqueText('iterate');
  const client = wsClient(env.gw.wsUrl, bearer(tenant.member.token));
  let started: { requestId: string; conversationId: string } | undefined;
  let received = '';
  let deltas = 0;
  try {
    for await (const result of client.iterate({ query: CHAT, variables: { input: { message } } })) {
      const event = (result.data as { chat: Record<string, any> }).chat;
      if (event.__typename === 'ChatStarted') started = event as typeof started;
      if (event.__typename === 'ChatDelta') {
        received += event.text;
        if (++deltas === DELTAS_BEFORE_CANCEL) break;
      }
    }
  } finally {
    await client.dispose();
  }
  expect(received).toBe(TOKENS.slice(0, DELTAS_BEFORE_CANCEL).join(''));
  await expectCancelled(message, started!.requestId, started!.conversationId, received);
  await expectStillServing();
});

describe.each<[string, (open: OpenChat) => void]>([
  ["calling the unsubscribe function graphql-ws's subscribe returned", (open) => open.unsubscribe()],
  ['client.terminate() (4499, the client gives up on the socket)', (open) => open.client.terminate()],
  ['destroying the TCP socket under the WebSocket (no close frame)', (open) => open.socket!.terminate()],
  ['closing the WebSocket normally (1000)', (open) => open.socket!.close(1000, 'bye')],
])('%s', (_how, goAway) => {
  test('aborts the upstream request and stores the partial reply as cancelled', async () => {
    const message = uniqueText('cancel');
    const open = openChat(env.gw, tenant.member.token, { message });
    try {
      await open.waitForDeltas(DELTAS_BEFORE_CANCEL);
      goAway(open);
      const received = open.run.text;
      expect(open.run.deltas.length).toBe(DELTAS_BEFORE_CANCEL);
      const started = open.run.started!;
      await expectCancelled(message, started.requestId, started.conversationId, received);
      // No ChatCompleted or ChatFailed reached the client after it left.
      expect(open.run.completed).toBeUndefined();
      expect(open.run.failed).toBeUndefined();
    } finally {
      await open.dispose();
    }
    await expectStillServing();
  });
});

describe('when nothing more is coming from the upstream', () => {
  // Aborting only when the next token arrives (the pitfall of a plain async generator suspended
  // in await) would never close these: no next token ever comes.
  test.each<[string, (open: OpenChat) => void]>([
    ['unsubscribe', (open) => open.unsubscribe()],
    ['TCP socket destroyed', (open) => open.socket!.terminate()],
  ])(
    'after the last token sent (%s): the upstream is closed without waiting for another token',
    async (_how, goAway) => {
      env.anthropic.setBehaviour(stallingAfter(1));
      const message = uniqueText('slow');
      const open = openChat(env.gw, tenant.member.token, { message });
      try {
        await open.waitForDeltas(1);
        goAway(open);
        const started = open.run.started!;
        await expectCancelled(message, started.requestId, started.conversationId, TOKENS[0]);
      } finally {
        await open.dispose();
      }
    },
  );

  test('before the first token (the upstream has not answered yet): aborted, an empty cancelled reply and usage without tokens', async () => {
    env.anthropic.setBehaviour({ kind: 'hang' });
    const message = uniqueText('hang');
    const open = openChat(env.gw, tenant.member.token, { message });
    try {
      await open.waitForStarted();
      const upstream = await upstreamOf(message);
      open.unsubscribe();
      await waitForClose(upstream, ABORT_DEADLINE_MS);
      const usage = await eventualUsageRow(open.run.started!.requestId);
      expect(usage).toMatchObject({
        status: 'cancelled',
        input_tokens: 0,
        output_tokens: 0,
        cost_usd: 0,
        ttft_ms: null,
      });
      expect((await messageRows(open.run.started!.conversationId))[1]).toMatchObject({
        role: 'ASSISTANT',
        content: '',
        status: 'cancelled',
      });
    } finally {
      await open.dispose();
    }
    await expectStillServing();
  });
});

test('cancelling one chat leaves a concurrent chat of the same user on the same socket untouched', async () => {
  const kept = uniqueText('kept');
  const dropped = uniqueText('dropped');
  env.anthropic.setBehaviour((request) => {
    const messages = (request.body?.messages ?? []) as Array<{ content: string }>;
    return messages[messages.length - 1]?.content === kept
      ? { kind: 'stream', tokens: TOKENS.slice(0, 10), delayMs: 30 }
      : stallingAfter(2);
  });
  const client = wsClient(env.gw.wsUrl, bearer(tenant.member.token), { lazy: false });
  try {
    const whole = chat(env.gw, tenant.member.token, { message: kept }, client);
    let droppedDeltas = 0;
    let onSecondDelta: () => void = () => undefined;
    const twoDeltas = new Promise<void>((resolve) => (onSecondDelta = resolve));
    const unsubscribe = client.subscribe(
      { query: CHAT, variables: { input: { message: dropped } } },
      {
        next: (result) => {
          if (
            (result.data as { chat: { __typename: string } }).chat.__typename === 'ChatDelta' &&
            ++droppedDeltas === 2
          )
            onSecondDelta();
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await twoDeltas;
    unsubscribe();
    await waitForClose(await upstreamOf(dropped), ABORT_DEADLINE_MS);

    const run = await whole;
    expect(run.text).toBe(TOKENS.slice(0, 10).join(''));
    expect(run.completed).toBeDefined();
    expect((await upstreamOf(kept)).completed).toBe(true);
    expect(await eventualUsageRow(run.started!.requestId)).toMatchObject({ status: 'completed' });
  } finally {
    await client.dispose();
  }
});
