import { anthropicKey, storeAnthropicKey, uniqueName } from '../support/fixtures';
import {
  chat,
  chatTenant,
  eventualUsageRow,
  messageRows,
  openChat,
  startChatEnvironment,
  startGatewayRetrying,
  uniqueText,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { ISSUE_TOKEN, VERIFY_AUDIT_LOG } from '../support/documents';
import type { TestGateway } from '../support/gateway';
import { ok } from '../support/graphql-client';
import { sql } from '../support/sql';

/**
 * When a chat's user turn and credential.use audit event are written: with the chat's end when
 * it ends within START_WRITE_DELAY_MS, on their own after that delay when it runs longer. A
 * chat's event is appended on the audit head this process last wrote, without a lock; when
 * another writer (here a second gateway on the same database) has moved the head, that append
 * fails as a whole and is made again under the head's lock: no chat loses its turn, event or
 * usage, and the chain stays gapless and verifiable.
 */

jest.setTimeout(60_000);

let env: ChatEnvironment;
let other: TestGateway;
let tenant: ChatTenant;

beforeAll(async () => {
  env = await startChatEnvironment();
  other = await startGatewayRetrying();
  tenant = await chatTenant(env.gw);
  await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
}, 120_000);

afterAll(async () => {
  await other?.stop();
  await env?.stop();
});

beforeEach(() => env.anthropic.reset());

const credentialUses = (requestId: string): Promise<Array<{ seq: number }>> =>
  sql<{ seq: number }>("select seq from audit_events where action = 'credential.use' and request_id = $1", [requestId]);

const chainSeqs = async (chain: string): Promise<number[]> =>
  (await sql<{ seq: number }>('select seq from audit_events where chain = $1 order by seq', [chain])).map(
    (row) => row.seq,
  );

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a chat still streaming after the delay has its turn and credential.use event stored before it ends', async () => {
  env.anthropic.setBehaviour({ kind: 'stream', tokens: ['a', 'b', 'c'], delayMs: 50, inputTokens: 12, stallAfter: 1 });
  const message = uniqueText('long');
  const open = openChat(env.gw, tenant.member.token, { message, keySource: 'PERSONAL' });
  try {
    await open.waitForDeltas(1);
    const { conversationId, requestId } = open.run.started!;
    const turns = await eventually(
      () => messageRows(conversationId),
      (rows) => rows.length > 0,
      'the user turn',
    );
    expect(turns).toEqual([expect.objectContaining({ role: 'USER', content: message })]);
    expect(await credentialUses(requestId)).toHaveLength(1);
    // Still streaming: no reply and no usage yet.
    expect(open.isEnded).toBe(false);
    expect(await sql('select 1 from usage_records where request_id = $1', [requestId])).toHaveLength(0);
    open.unsubscribe();
    await eventualUsageRow(requestId);
    expect((await messageRows(conversationId)).map((row) => row.role)).toEqual(['USER', 'ASSISTANT']);
    expect(await credentialUses(requestId)).toHaveLength(1);
  } finally {
    await open.dispose();
  }
});

test('before the first token, the turn is stored once the delay has passed', async () => {
  env.anthropic.setBehaviour({ kind: 'hang' });
  const message = uniqueText('thinking');
  const open = openChat(env.gw, tenant.member.token, { message, keySource: 'PERSONAL' });
  try {
    await open.waitForStarted();
    const { conversationId, requestId } = open.run.started!;
    await eventually(
      () => messageRows(conversationId),
      (rows) => rows.length === 1,
      'the user turn',
    );
    expect(await credentialUses(requestId)).toHaveLength(1);
    open.unsubscribe();
    await eventualUsageRow(requestId);
  } finally {
    await open.dispose();
  }
});

test('a short chat has its turn, reply, usage and one credential.use event, all in the same place', async () => {
  env.anthropic.setBehaviour({ kind: 'stream', tokens: ['x', 'y'], delayMs: 0, inputTokens: 9 });
  const message = uniqueText('short');
  const run = await chat(env.gw, tenant.member.token, { message, keySource: 'PERSONAL' });
  const { conversationId, requestId } = run.started!;
  expect(run.completed).toBeDefined();
  expect(await messageRows(conversationId)).toEqual([
    expect.objectContaining({ role: 'USER', content: message }),
    expect.objectContaining({ role: 'ASSISTANT', content: 'xy', status: 'complete' }),
  ]);
  expect((await eventualUsageRow(requestId)).status).toBe('completed');
  expect(await credentialUses(requestId)).toHaveLength(1);
  // The turn row's time is the chat's start, before the reply's.
  const [turn, reply] = await sql<{ created_at: Date }>(
    "select created_at from messages where conversation_id = $1 order by case role when 'USER' then 0 else 1 end",
    [conversationId],
  );
  expect(turn.created_at.getTime()).toBeLessThanOrEqual(reply.created_at.getTime());
});

test('another writer moving the chain between chats: every event once, no gap, the chain verifies', async () => {
  env.anthropic.setBehaviour({ kind: 'stream', tokens: ['o', 'k'], delayMs: 0, inputTokens: 5 });
  const chats: string[] = [];
  const runChat = async () => {
    const run = await chat(env.gw, tenant.member.token, { message: uniqueText('moved'), keySource: 'PERSONAL' });
    expect(run.completed).toBeDefined();
    chats.push(run.started!.requestId);
  };
  const issueOnOther = () =>
    ok(other, tenant.adminToken, ISSUE_TOKEN, { input: { name: uniqueName('other') } }).then(
      (result) => result.issueApiToken.apiToken.id,
    );

  // Alternating: each chat's head, as its gateway last wrote it, is one the other gateway moved.
  const issued: string[] = [];
  for (let round = 0; round < 3; round++) {
    await runChat();
    issued.push(await issueOnOther());
  }
  // And at once, on both.
  const together = await Promise.all([
    ...Array.from({ length: 6 }, () => runChat().then(() => null)),
    ...Array.from({ length: 6 }, () => issueOnOther()),
  ]);
  issued.push(...together.filter((id): id is string => id !== null));

  for (const requestId of chats) {
    expect(await credentialUses(requestId)).toHaveLength(1);
    expect((await eventualUsageRow(requestId)).status).toBe('completed');
  }
  const issuedEvents = await sql<{ target_id: string }>(
    "select target_id from audit_events where chain = $1 and action = 'token.issue' and target_id = any($2::text[])",
    [tenant.tenantId, issued],
  );
  expect(issuedEvents).toHaveLength(issued.length);
  // The moves were noticed: some appends failed on a stale head and were made under its lock.
  expect(env.gw.logs.lines.some((line) => line.includes('audit chain moved by another writer'))).toBe(true);
  const seqs = await chainSeqs(tenant.tenantId);
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, index) => index + 1));
  expect((await ok(env.gw, tenant.adminToken, VERIFY_AUDIT_LOG)).verifyAuditLog).toMatchObject({
    ok: true,
    checked: seqs.length,
  });
});
