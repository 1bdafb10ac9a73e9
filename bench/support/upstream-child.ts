/**
 * A local upstream in a process of its own (`node dist/bench/support/upstream-child.js <format>
 * <tokens>`), so that the bench's clients and the upstream do not share one event loop, which
 * slowed the direct baseline (issue 15): test/support's Anthropic Messages or OpenAI Chat
 * Completions server, every request streaming `tokens` text deltas with no delay. Prints
 * `{"baseURL": …}` on one line when it listens; stops on SIGTERM or when its stdin closes.
 */
import { startAnthropicServer } from '../../test/support/anthropic-server';
import { startOpenAiServer } from '../../test/support/openai-server';
import { replyTokens } from './chat-clients';

async function main(): Promise<void> {
  const [format, tokensArg] = process.argv.slice(2);
  const tokens = Number(tokensArg);
  if ((format !== 'anthropic' && format !== 'openai') || !Number.isInteger(tokens) || tokens <= 0) {
    throw new Error('usage: upstream-child.js anthropic|openai <tokens>');
  }
  const server = format === 'anthropic' ? await startAnthropicServer() : await startOpenAiServer('openai');
  server.setBehaviour({ kind: 'stream', tokens: replyTokens(tokens), delayMs: 0 });
  // The servers record every request for tests; a bench only needs them answered.
  const forget = setInterval(() => server.requests.splice(0), 1000);
  const stop = () => {
    clearInterval(forget);
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.stdin.once('end', stop);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ baseURL: server.baseURL })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
