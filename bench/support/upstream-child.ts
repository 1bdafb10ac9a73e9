/**
 * The local Anthropic Messages API server in a process of its own, so that neither the bench's
 * clients nor the gateways share its CPU. Prints `{"baseURL": …}` on stdout once listening;
 * every request streams BENCH_TOKENS text deltas BENCH_DELAY_MS apart. Stops on SIGTERM.
 *
 *   node dist/bench/support/upstream-child.js
 */
import { startAnthropicServer } from '../../test/support/anthropic-server';
import { replyTokens } from './chat-clients';
import { intFromEnv, numberFromEnv } from './stats';

async function main(): Promise<void> {
  const server = await startAnthropicServer();
  server.setBehaviour({
    kind: 'stream',
    tokens: replyTokens(intFromEnv('BENCH_TOKENS', 50)),
    delayMs: numberFromEnv('BENCH_DELAY_MS', 0),
  });
  // Requests are recorded for tests; a long bench would only grow that list.
  const drop = setInterval(() => server.requests.splice(0), 1000);
  process.once('SIGTERM', () => {
    clearInterval(drop);
    void server.close().then(() => process.exit(0));
  });
  process.stdout.write(`${JSON.stringify({ baseURL: server.baseURL })}\n`);
}

void main();
