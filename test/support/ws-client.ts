import { createClient, type Client, type ClientOptions } from 'graphql-ws';
import WebSocket from 'ws';

export interface WsResult<T = Record<string, any>> {
  data?: T | null;
  errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
}

export const bearer = (token: string): string => `Bearer ${token}`;

/**
 * A real graphql-ws client over `ws`. `authorization` (a whole header value, see `bearer`) goes
 * in connection_init's payload, as the contract says; omitted, the payload is empty.
 * Pass `lazy: false` to keep one connection open until `dispose()`.
 */
export function wsClient(wsUrl: string, authorization?: string, options: Partial<ClientOptions> = {}): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: authorization === undefined ? {} : { authorization },
    retryAttempts: 0,
    ...options,
  });
}

/** One operation over the socket; resolves with its (single) result, errors included. */
export function wsRequest<T = Record<string, any>>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<WsResult<T>> {
  return new Promise((resolve, reject) => {
    let result: WsResult<T> | undefined;
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          result = value as WsResult<T>;
        },
        error: (error) => {
          // Errors that stop an operation before execution arrive as an array of GraphQL errors.
          if (Array.isArray(error)) resolve({ errors: error });
          else
            reject(
              error instanceof Error
                ? error
                : new Error(`socket error: ${String((error as { reason?: string })?.reason ?? error)}`),
            );
        },
        complete: () => (result ? resolve(result) : reject(new Error('completed without a result'))),
      },
    );
  });
}
