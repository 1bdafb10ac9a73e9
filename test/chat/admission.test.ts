import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import {
  chat,
  chatTenant,
  openChat,
  refusedChat,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import type { ChatInputArgs } from '../support/documents';
import { anthropicKey } from '../support/fixtures';
import { sql, testDatabaseUrl } from '../support/sql';
import { serverUrl } from '../support/test-database';

/**
 * A chat's admission (stream caps and client request ids, in the database every replica shares)
 * is decided beside its planning, and once planned, its first provider call is built while the
 * admission is still out (HeldUpstreamCall). Whatever the admission answers, and however long
 * it takes, the provider hears of a chat only once it has been admitted.
 */

let env: ChatEnvironment;
let tenant: ChatTenant;

beforeAll(async () => {
  env = await startChatEnvironment({ ANTHROPIC_API_KEY: anthropicKey() });
  tenant = await chatTenant(env.gw, { allowedModels: null });
});

beforeEach(() => env.anthropic.reset());

afterAll(async () => {
  await env?.stop();
});

const input = (message: string, clientRequestId?: string): ChatInputArgs => ({
  message,
  model: 'claude-haiku-4-5',
  keySource: 'PLATFORM',
  ...(clientRequestId ? { clientRequestId } : {}),
});

const usageCount = async (userId: string): Promise<number> =>
  (await sql<{ n: number }>('select count(*)::int as n from usage_records where user_id = $1', [userId]))[0].n;

test('refused as a duplicate once planned: nothing reaches the provider, nothing is recorded', async () => {
  env.anthropic.setBehaviour({ kind: 'stream', tokens: [' one', ' two', ' three'], delayMs: 100 });
  const clientRequestId = `send-${randomUUID()}`;
  const usageBefore = await usageCount(tenant.member.userId);
  const first = openChat(env.gw, tenant.member.token, input(uniqueText('first'), clientRequestId));
  const replay = uniqueText('replay');
  try {
    await first.waitForDeltas(1);
    // Planned from warm caches, the replay's call is built before the admission refuses it.
    expect(await refusedChat(env.gw, tenant.member.token, input(replay, clientRequestId))).toBe('DUPLICATE_REQUEST');
    expect((await first.done).completed).toBeDefined();
  } finally {
    await first.dispose();
  }
  // A later chat goes out and completes: the refused one was never sent, before it or since.
  env.anthropic.setBehaviour({ kind: 'stream' });
  expect((await chat(env.gw, tenant.member.token, input(uniqueText('after')))).typenames.at(-1)).toBe('ChatCompleted');
  expect(upstreamFor(env.anthropic, replay)).toHaveLength(0);
  expect(env.anthropic.requests).toHaveLength(2);
  // Neither its turn nor any usage.
  expect(await sql('select id from messages where content = $1', [replay])).toEqual([]);
  expect(await usageCount(tenant.member.userId)).toBe(usageBefore + 2);
});

test('while the admission waits on its tenant’s lock the provider hears nothing; admitted, the chat runs', async () => {
  // Warm caches: planning needs no database, so only the admission waits.
  expect((await chat(env.gw, tenant.member.token, input(uniqueText('warm')))).typenames.at(-1)).toBe('ChatCompleted');
  env.anthropic.reset();
  const message = uniqueText('admitted later');
  const holder = new Client({ connectionString: testDatabaseUrl() });
  await holder.connect();
  let waiting: ReturnType<typeof openChat> | undefined;
  try {
    await holder.query('begin');
    // The lock keyward_admit_chat takes for the tenant's stream counts.
    await holder.query(`select pg_advisory_xact_lock(hashtextextended('keyward_stream_leases:' || $1::text, 0))`, [
      tenant.tenantId,
    ]);
    waiting = openChat(env.gw, tenant.member.token, input(message));
    await whileAdmissionWaits(holder);
    expect(env.anthropic.requests).toHaveLength(0);
    expect(waiting.run.events).toHaveLength(0);
  } finally {
    await holder.query('commit').catch(() => undefined);
    await holder.end();
  }
  try {
    const run = await waiting.done;
    expect(run.completed).toBeDefined();
    expect(upstreamFor(env.anthropic, message)).toHaveLength(1);
  } finally {
    await waiting.dispose();
  }
});

/**
 * Returns once the chat's admission is waiting for the lock, and its planning (from warm caches,
 * a few milliseconds) is surely over. On the PostgreSQL server the lock shows its waiter; the
 * embedded PGlite serves one transaction at a time, so every statement waits for `holder` there
 * and only time can tell. (Another chat cannot serve as the signal: a replica's admissions go to
 * the database one batch at a time, so every chat of this gateway waits behind this one.)
 */
async function whileAdmissionWaits(holder: Client): Promise<void> {
  if (serverUrl()) {
    for (let tries = 0; ; tries++) {
      const { rows } = await holder.query<{ n: number }>(
        "select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted",
      );
      if (rows[0].n > 0) break;
      if (tries > 200) throw new Error('the admission never waited for the lock');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}
