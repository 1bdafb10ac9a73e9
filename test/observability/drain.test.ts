import { generateBearerToken } from '../../src/auth/bearer-token';
import { startAnthropicServer, waitForClose, type AnthropicServer } from '../support/anthropic-server';
import {
  chatTenant,
  messageRows,
  openChat,
  refusedChat,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  usageRow,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { anthropicKey, createMember, createTenantWithAdmin, storeAnthropicKey } from '../support/fixtures';
import { freePort, spawnGateway, killAllGateways, type GatewayProcess } from '../support/gateway-process';

/**
 * docs/operations.md "Shutdown": on stop the gateway stops being ready, refuses new chat streams
 * (SHUTTING_DOWN), lets open streams finish for up to KEYWARD_DRAIN_SECONDS, then ends the rest
 * with a retryable ChatFailed SHUTTING_DOWN after recording their usage.
 */

const words = (count: number) => Array.from({ length: count }, (_, i) => `${i === 0 ? '' : ' '}w${i}`);

/** Upstream behaviour by the message's prefix: "quick" ends in ~0.5 s, "slow" would take 5 s, "hold" never answers. */
function byPrefix(anthropic: AnthropicServer): void {
  anthropic.setBehaviour((request) => {
    const messages = (request.body?.messages ?? []) as Array<{ content: string }>;
    const text = messages[messages.length - 1]?.content ?? '';
    if (text.startsWith('quick')) return { kind: 'stream', tokens: words(6), delayMs: 100 };
    if (text.startsWith('slow')) return { kind: 'stream', tokens: words(50), delayMs: 100 };
    if (text.startsWith('hold')) return { kind: 'hang' };
    return undefined;
  });
}

describe('in process (KEYWARD_DRAIN_SECONDS=1)', () => {
  let env: ChatEnvironment;
  let tenant: ChatTenant;

  beforeAll(async () => {
    env = await startChatEnvironment({ KEYWARD_DRAIN_SECONDS: '1' });
    tenant = await chatTenant(env.gw);
    await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
    byPrefix(env.anthropic);
  });

  afterAll(async () => {
    await env?.stop();
  });

  test('refuses new chats and readiness, lets a quick stream finish, ends a slow one with SHUTTING_DOWN; both recorded', async () => {
    const readyz = env.gw.url.replace(/\/graphql$/, '/readyz');
    expect((await fetch(readyz)).status).toBe(200);
    const other = await createMember(env.gw, tenant.adminToken);

    const quickMessage = uniqueText('quick');
    const slowMessage = uniqueText('slow');
    const quick = openChat(env.gw, tenant.member.token, { message: quickMessage });
    const slow = openChat(env.gw, tenant.member.token, { message: slowMessage });
    try {
      await Promise.all([quick.waitForDeltas(1), slow.waitForDeltas(1)]);

      const stopping = env.gw.gateway.stop();
      expect(env.gw.gateway.isDraining).toBe(true);

      // During the drain: not ready, and a new chat (any user) is refused before any event.
      const notReady = await fetch(readyz);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: 'draining' });
      const refused = uniqueText('refused');
      expect(await refusedChat(env.gw, other.token, { message: refused })).toBe('SHUTTING_DOWN');
      expect(upstreamFor(env.anthropic, refused)).toHaveLength(0);
      expect(slow.isEnded).toBe(false);

      const [quickRun, slowRun] = await Promise.all([quick.done, slow.done]);
      await stopping;

      expect(quickRun.typenames[quickRun.typenames.length - 1]).toBe('ChatCompleted');
      expect(quickRun.text).toBe(words(6).join(''));

      expect(slowRun.typenames[0]).toBe('ChatStarted');
      expect(slowRun.typenames[slowRun.typenames.length - 1]).toBe('ChatFailed');
      expect(slowRun.failed).toMatchObject({ code: 'SHUTTING_DOWN', retryable: true });
      expect(slowRun.deltas.length).toBeGreaterThan(0);
      expect(slowRun.deltas.length).toBeLessThan(50);

      // The slow upstream request was aborted, not left running.
      const [slowUpstream] = upstreamFor(env.anthropic, slowMessage);
      await waitForClose(slowUpstream);
      expect(slowUpstream.completed).toBe(false);

      expect(await usageRow(quickRun.started!.requestId)).toMatchObject({ status: 'completed', error_code: null });
      const slowUsage = await usageRow(slowRun.started!.requestId);
      expect(slowUsage).toMatchObject({
        status: 'failed',
        error_code: 'SHUTTING_DOWN',
        output_tokens: slowRun.deltas.length,
      });
      expect((await messageRows(slowRun.started!.conversationId))[1]).toMatchObject({
        role: 'ASSISTANT',
        content: slowRun.text,
        status: 'failed',
      });
    } finally {
      await Promise.all([quick.dispose(), slow.dispose()]);
    }
  });
});

describe('a real process on SIGTERM', () => {
  let anthropic: AnthropicServer;
  let gateway: GatewayProcess | undefined;

  beforeAll(async () => {
    anthropic = await startAnthropicServer();
    byPrefix(anthropic);
  });

  afterAll(async () => {
    await killAllGateways();
    await anthropic?.close();
  });

  /** node dist/src/main.js on the run's database, retried if its migration raced another gateway's start. */
  async function start(env: Record<string, string>): Promise<{ process: GatewayProcess; url: string }> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const child = spawnGateway({ ...env, PORT: String(port) });
      try {
        await child.waitForStdout(/Keyward listening/);
        return { process: child, url: `http://127.0.0.1:${port}/graphql` };
      } catch (error) {
        if (attempt >= 3 || !/already exists|duplicate key|EADDRINUSE/.test(String(error))) throw error;
      }
    }
  }

  test('ends an open stream with SHUTTING_DOWN after the drain, records it, and exits 0', async () => {
    const platformToken = generateBearerToken();
    const started = await start({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      DATABASE_URL: process.env.KEYWARD_TEST_DATABASE_URL!,
      KEYWARD_MASTER_KEY: process.env.KEYWARD_TEST_MASTER_KEY!,
      KEYWARD_BOOTSTRAP_TOKEN: platformToken,
      ANTHROPIC_BASE_URL: anthropic.baseURL,
      KEYWARD_DRAIN_SECONDS: '1',
      LOG_LEVEL: 'info',
    });
    gateway = started.process;
    const gw = { url: started.url, wsUrl: started.url.replace(/^http/, 'ws'), platformToken };
    const tenant = await createTenantWithAdmin(gw as never, 'drain-process');
    await storeAnthropicKey(gw, tenant.adminToken, 'TENANT', anthropicKey());

    const message = uniqueText('hold');
    const held = openChat(gw, tenant.adminToken, { message });
    try {
      await held.waitForStarted();
      await anthropic.waitForRequests(1, 5_000);
      const [upstream] = upstreamFor(anthropic, message);

      gateway.child.kill('SIGTERM');
      const run = await held.done;
      expect(run.typenames).toEqual(['ChatStarted', 'ChatFailed']);
      expect(run.failed).toMatchObject({ code: 'SHUTTING_DOWN', retryable: true });
      expect(await gateway.exited).toBe(0);
      await waitForClose(upstream);
      expect(upstream.completed).toBe(false);

      expect(await usageRow(run.started!.requestId)).toMatchObject({
        status: 'failed',
        error_code: 'SHUTTING_DOWN',
        key_source: 'TENANT',
      });
      const logged = gateway.stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line).msg as string);
      expect(logged).toEqual(expect.arrayContaining(['shutting down: draining requests', 'stopped']));
    } finally {
      await held.dispose();
    }
  });
});
