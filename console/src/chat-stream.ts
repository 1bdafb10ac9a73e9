import { createClient, type Client } from 'graphql-ws';
import type { TadaDocumentNode } from 'gql.tada';
import { ApiError, errorFrom, queryText } from './api';
import { graphql, type ResultOf, type VariablesOf } from './graphql';

export const CHAT = graphql(`
  subscription Chat($input: ChatInput!) {
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
      ... on ChatToolCall {
        id
        name
        input
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
`);

export type ChatEvent = ResultOf<typeof CHAT>['chat'];
export type ChatInput = VariablesOf<typeof CHAT>['input'];

export interface ChatHandlers {
  event(event: ChatEvent): void;
  /** Refused before any event (GraphQL errors), or the connection failed. */
  error(code: string, message: string, extensions: Record<string, unknown>): void;
  done(): void;
}

let client: Client | undefined;
let clientToken: string | undefined;

function socketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
}

function clientFor(token: string): Client {
  if (!client || clientToken !== token) {
    void client?.dispose();
    clientToken = token;
    client = createClient({
      url: socketUrl(),
      connectionParams: { authorization: `Bearer ${token}` },
      lazy: true,
      // A reconnect would send the chat again; a failed socket is reported instead.
      retryAttempts: 0,
    });
  }
  return client;
}

export function closeChatConnection(): void {
  void client?.dispose();
  client = undefined;
  clientToken = undefined;
}

/** Starts one chat over graphql-ws; the returned function stops it (the gateway aborts the upstream request). */
export function streamChat(token: string, input: ChatInput, handlers: ChatHandlers): () => void {
  // One id per send: should the same subscription reach the gateway twice, it runs and is charged once.
  const sent: ChatInput = { ...input, clientRequestId: input.clientRequestId ?? crypto.randomUUID() };
  return clientFor(token).subscribe<{ chat: ChatEvent }>(
    { query: queryText(CHAT), variables: { input: sent } },
    {
      next: (result) => {
        if (result.errors?.length) {
          const first = result.errors[0];
          handlers.error(String(first.extensions?.code ?? 'ERROR'), first.message, first.extensions ?? {});
        } else if (result.data) handlers.event(result.data.chat);
      },
      error: (error) => {
        if (Array.isArray(error)) {
          const first = error[0] as { message: string; extensions?: Record<string, unknown> };
          handlers.error(
            String(first?.extensions?.code ?? 'ERROR'),
            first?.message ?? 'Refused',
            first?.extensions ?? {},
          );
        } else if (error && typeof error === 'object' && 'code' in error && 'reason' in error) {
          const close = error as CloseEvent;
          handlers.error(
            'CONNECTION_CLOSED',
            `The connection to Keyward closed (${close.code}${close.reason ? `: ${close.reason}` : ''}). Send again.`,
            {},
          );
        } else {
          handlers.error(
            'CONNECTION_CLOSED',
            'The connection to Keyward failed. Check that the gateway is running, then send again.',
            {},
          );
        }
        handlers.done();
      },
      complete: handlers.done,
    },
  );
}

/**
 * Runs a mutation on the chat's own socket rather than over HTTP, so that it reaches the replica
 * that runs the chat: a chat's open tool calls are held by that process, and behind a load
 * balancer an HTTP request may land on another replica (which answers NOT_FOUND).
 */
export function mutateOnChatSocket<Result, Variables extends Record<string, unknown>>(
  token: string,
  document: TadaDocumentNode<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  return new Promise<Result>((resolve, reject) => {
    let data: Result | undefined;
    clientFor(token).subscribe<Result>(
      { query: queryText(document), variables },
      {
        next: (result) => {
          if (result.errors?.length) reject(errorFrom(result.errors));
          else data = (result.data ?? undefined) as Result | undefined;
        },
        error: (error) =>
          reject(
            Array.isArray(error)
              ? errorFrom(error as Array<{ message: string; extensions?: Record<string, unknown> }>)
              : new ApiError('The connection to Keyward closed before it answered. Send again.', 'CONNECTION_CLOSED'),
          ),
        complete: () =>
          data === undefined ? reject(new ApiError('Keyward sent no result.', 'BAD_RESPONSE')) : resolve(data),
      },
    );
  });
}
