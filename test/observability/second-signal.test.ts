import { generateBearerToken } from '../../src/auth/bearer-token';
import { startAnthropicServer, waitForClose, type AnthropicServer } from '../support/anthropic-server';
import { messageRows, openChat, uniqueText, upstreamFor, usageRow } from '../support/chat-harness';
import { anthropicKey, createTenantWithAdmin, storeAnthropicKey } from '../support/fixtures';
import { freePort, killAllGateways, spawnGateway } from '../support/gateway-process';

/**
 * docs/operations.md "Shutdown": a second signal during the drain does not wait out
 * KEYWARD_DRAIN_SECONDS but ends open streams at once, and still records their usage rows and
 * partial replies before the process exits.
 */

const words = (count: number) => Array.from({ length: count }, (_, i) => `${i === 0 ? '' : ' '}w${i}`);

let anthropic: AnthropicServer;

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  // A reply that would take 40 s, far longer than this test waits for anything.
  anthropic.setBehaviour(() => ({ kind: 'stream', tokens: words(200), delayMs: 200 }));
});

afterAll(async () => {
  await killAllGateways();
  await anthropic?.close();
});

test.each([['SIGTERM'], ['SIGINT']] as const)(
  'SIGTERM then %s: the open stream ends with SHUTTING_DOWN, its usage row and partial reply are in the database, exit 0',
  async (second) => {
    const platformToken = generateBearerToken();
    const port = await freePort();
    const gateway = spawnGateway({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: process.env.KEYWARD_TEST_DATABASE_URL!,
      KEYWARD_MASTER_KEY: process.env.KEYWARD_TEST_MASTER_KEY!,
      KEYWARD_BOOTSTRAP_TOKEN: platformToken,
      ANTHROPIC_BASE_URL: anthropic.baseURL,
      KEYWARD_DRAIN_SECONDS: '300',
      LOG_LEVEL: 'info',
    });
    await gateway.waitForStdout(/Keyward listening/);
    const url = `http://127.0.0.1:${port}/graphql`;
    const gw = { url, wsUrl: url.replace(/^http/, 'ws'), platformToken };
    const tenant = await createTenantWithAdmin(gw as never, 'second-signal');
    await storeAnthropicKey(gw, tenant.adminToken, 'TENANT', anthropicKey());

    const message = uniqueText('slow');
    const open = openChat(gw, tenant.adminToken, { message });
    try {
      await open.waitForDeltas(3);
      gateway.child.kill('SIGTERM');
      await gateway.waitForStdout(/shutting down: draining requests/);
      await open.waitForDeltas(4);
      expect(open.isEnded).toBe(false);
      gateway.child.kill(second);

      const run = await open.done;
      const exitCode = await gateway.exited;
      expect(run.typenames[run.typenames.length - 1]).toBe('ChatFailed');
      expect(run.failed).toMatchObject({ code: 'SHUTTING_DOWN', retryable: true });
      expect(run.deltas.length).toBeGreaterThanOrEqual(4);
      expect(run.deltas.length).toBeLessThan(200);
      const [upstream] = upstreamFor(anthropic, message);
      await waitForClose(upstream);
      expect(upstream.completed).toBe(false);

      expect(await usageRow(run.started!.requestId)).toMatchObject({
        status: 'failed',
        error_code: 'SHUTTING_DOWN',
        key_source: 'TENANT',
        output_tokens: run.deltas.length,
      });
      const [turn, reply] = await messageRows(run.started!.conversationId);
      expect(turn).toMatchObject({ role: 'USER', content: message });
      expect(reply).toMatchObject({ role: 'ASSISTANT', content: run.text, status: 'failed' });
      expect(gateway.stdout).toContain('second signal: ending open chat streams now');
      expect(exitCode).toBe(0);
    } finally {
      await open.dispose();
    }
  },
  60_000,
);
