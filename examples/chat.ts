// Streams one chat reply from a Keyward gateway over graphql-ws and prints every outcome:
// the reply on stdout; what served it, the usage, and any error on stderr.
//   TOKEN=kw_... npx tsx examples/chat.ts "Hello!"
// KEYWARD_WS_URL (default ws://127.0.0.1:4000/graphql), MODEL and KEY_SOURCE are optional.
// Exit code: 0 when the reply completed, 1 on any error.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const CHAT = /* GraphQL */ `
  subscription ($input: ChatInput!) {
    chat(input: $input) {
      __typename
      ... on ChatStarted {
        requestId
        conversationId
        model
        keySource
      }
      ... on ChatDelta {
        text
      }
      ... on ChatCompleted {
        stopReason
        usage {
          inputTokens
          outputTokens
          costUsd
        }
      }
      ... on ChatFailed {
        code
        message
        retryable
      }
    }
  }
`;

/** The chat events this example selects. */
type ChatEvent =
  | { __typename: 'ChatStarted'; requestId: string; conversationId: string; model: string; keySource: string }
  | { __typename: 'ChatDelta'; text: string }
  | {
      __typename: 'ChatCompleted';
      stopReason: string;
      usage: { inputTokens: number; outputTokens: number; costUsd: number };
    }
  | { __typename: 'ChatFailed'; code: string; message: string; retryable: boolean };

interface GraphQLErrorLike {
  message: string;
  extensions?: { code?: string };
}

/** What graphql-ws rejects with: GraphQL errors, a socket close, or a plain Error. */
function describeError(error: unknown): string {
  if (Array.isArray(error)) {
    return (error as GraphQLErrorLike[]).map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('\n');
  }
  if (error && typeof error === 'object' && 'code' in error && 'reason' in error) {
    const close = error as { code: number; reason: string };
    return `connection closed (${close.code}${close.reason ? `: ${close.reason}` : ''})`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function main(): Promise<number> {
  const token = process.env.TOKEN;
  if (!token) {
    console.error('Set TOKEN to a Keyward API token (kw_...).');
    return 1;
  }
  const client = createClient({
    url: process.env.KEYWARD_WS_URL ?? 'ws://127.0.0.1:4000/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0, // report a refused connection instead of retrying it
  });
  const input = {
    message: process.argv[2] ?? 'Hello!',
    keySource: process.env.KEY_SOURCE ?? 'AUTO',
    ...(process.env.MODEL ? { model: process.env.MODEL } : {}),
  };
  try {
    for await (const result of client.iterate({ query: CHAT, variables: { input } })) {
      if (result.errors?.length) {
        console.error(describeError(result.errors));
        return 1;
      }
      const event = result.data?.chat as ChatEvent;
      switch (event.__typename) {
        case 'ChatStarted':
          console.error(`[${event.model} on the ${event.keySource} key, request ${event.requestId}]`);
          break;
        case 'ChatDelta':
          process.stdout.write(event.text);
          break;
        case 'ChatCompleted':
          process.stdout.write('\n');
          console.error(
            `[${event.stopReason}: ${event.usage.inputTokens} in, ${event.usage.outputTokens} out, $${event.usage.costUsd}]`,
          );
          return 0;
        case 'ChatFailed':
          process.stdout.write('\n');
          console.error(`${event.code}: ${event.message}${event.retryable ? ' (retryable)' : ''}`);
          return 1;
      }
    }
    console.error('the stream ended without a result');
    return 1;
  } catch (error) {
    console.error(describeError(error));
    return 1;
  } finally {
    await client.dispose();
  }
}

void main().then((code) => process.exit(code));
