import type { ExecutionResult } from 'graphql';
import { chatTenant, startChatEnvironment, type ChatEnvironment, type ChatTenant } from '../support/chat-harness';
import { anthropicKey } from '../support/fixtures';
import { bearer, wsClient } from '../support/ws-client';

/**
 * Events are executed on a lean path (no variables, no root arguments) when the operation's
 * variables feed only the `chat` field's arguments, and on graphql-js's own path otherwise
 * (src/server/subscription-events.ts). Whatever the document's shape, each event must come out
 * exactly as GraphQL says: aliases, __typename, fragments, and directives with variables.
 */

let env: ChatEnvironment;
let tenant: ChatTenant;
const TOKENS = ['Lean', ' and', ' exact'];

beforeAll(async () => {
  env = await startChatEnvironment({ ANTHROPIC_API_KEY: anthropicKey() });
  tenant = await chatTenant(env.gw);
});

afterAll(async () => {
  await env?.stop();
});

async function events(query: string, variables: Record<string, unknown>): Promise<unknown[]> {
  env.anthropic.enqueue({ kind: 'stream', tokens: TOKENS, inputTokens: 7, outputTokens: 3 });
  const client = wsClient(env.gw.wsUrl, bearer(tenant.member.token));
  const results: unknown[] = [];
  try {
    for await (const result of client.iterate({ query, variables }) as AsyncIterable<ExecutionResult>) {
      expect(result.errors).toBeUndefined();
      results.push(result.data);
    }
  } finally {
    await client.dispose();
  }
  return results;
}

const input = { message: 'shape of the events', model: 'claude-haiku-4-5', keySource: 'PLATFORM' };

test('aliases, __typename and a named fragment on the lean path', async () => {
  const received = await events(
    /* GraphQL */ `
      subscription Talk($input: ChatInput!) {
        reply: chat(input: $input) {
          kind: __typename
          ...Piece
          ... on ChatCompleted {
            usage {
              out: outputTokens
            }
          }
        }
      }
      fragment Piece on ChatDelta {
        words: text
      }
    `,
    { input },
  );
  expect(received.slice(1)).toEqual([
    ...TOKENS.map((words) => ({ reply: { kind: 'ChatDelta', words } })),
    { reply: { kind: 'ChatCompleted', usage: { out: 3 } } },
  ]);
  expect(received[0]).toEqual({ reply: { kind: 'ChatStarted' } });
});

test.each([true, false])(
  'a variable used in the selection (@include(if: %s)) takes the full path and is honoured',
  async (withText) => {
    const received = await events(
      /* GraphQL */ `
        subscription ($input: ChatInput!, $withText: Boolean!) {
          chat(input: $input) {
            __typename
            ... on ChatDelta {
              text @include(if: $withText)
            }
          }
        }
      `,
      { input, withText },
    );
    const deltas = received.filter(
      (data) => (data as { chat: { __typename: string } }).chat.__typename === 'ChatDelta',
    );
    expect(deltas).toEqual(
      TOKENS.map((text) => ({ chat: withText ? { __typename: 'ChatDelta', text } : { __typename: 'ChatDelta' } })),
    );
  },
);

test('the input may be written inline, without variables', async () => {
  const received = await events(
    /* GraphQL */ `
      subscription {
        chat(input: { message: "inline input", model: "claude-haiku-4-5", keySource: PLATFORM }) {
          __typename
          ... on ChatStarted {
            model
            keySource
          }
          ... on ChatDelta {
            text
          }
        }
      }
    `,
    {},
  );
  expect(received[0]).toEqual({
    chat: { __typename: 'ChatStarted', model: 'claude-haiku-4-5', keySource: 'PLATFORM' },
  });
  expect(received.slice(1, 1 + TOKENS.length)).toEqual(
    TOKENS.map((text) => ({ chat: { __typename: 'ChatDelta', text } })),
  );
});
