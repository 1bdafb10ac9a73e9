import type { IncomingMessage } from 'node:http';
import { Lexer, Source, TokenKind } from 'graphql';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startSharedGateway, type TestGateway, type TestGatewayOptions } from '../support/gateway';
import { gql, type GraphQLResponse } from '../support/graphql-client';
import { bearer, wsClient, wsRequest, type WsResult } from '../support/ws-client';

export const GRAPHQL_TRANSPORT_WS = 'graphql-transport-ws';

export { startSharedGateway as startGateway } from '../support/gateway';

/** Gateways started one after another (concurrent starts race on the migrations, see above). */
export async function startGateways(...options: TestGatewayOptions[]): Promise<TestGateway[]> {
  const gateways: TestGateway[] = [];
  for (const each of options) gateways.push(await startSharedGateway(each));
  return gateways;
}

/** Tokens as graphql-js's parser counts them for `maxTokens` (EOF excluded). */
export function countTokens(document: string): number {
  const lexer = new Lexer(new Source(document));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count += 1;
  return count;
}

/** One operation's outcome, the same shape whichever transport carried it. */
export interface Outcome {
  data?: unknown;
  errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
  /** HTTP status; undefined on WebSocket. */
  status?: number;
  /** Everything the client received, for leak checks. */
  text: string;
}

export type Transport = 'http' | 'ws';
export const TRANSPORTS: Transport[] = ['http', 'ws'];

export async function overHttp(
  gw: Pick<TestGateway, 'url'>,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<Outcome> {
  const res: GraphQLResponse<unknown> = await gql(gw.url, query, variables, token);
  return { data: res.data, errors: res.errors, status: res.status, text: res.raw };
}

/** Runs one operation on a fresh authenticated graphql-ws connection. */
export async function overWs(
  gw: Pick<TestGateway, 'wsUrl'>,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<Outcome> {
  const client = wsClient(gw.wsUrl, token === undefined ? undefined : bearer(token));
  try {
    return toOutcome(await wsRequest(client, query, variables));
  } finally {
    await client.dispose();
  }
}

export const toOutcome = (result: WsResult<unknown>): Outcome => ({
  data: result.data,
  errors: result.errors,
  text: JSON.stringify(result),
});

export function run(
  transport: Transport,
  gw: Pick<TestGateway, 'url' | 'wsUrl'>,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<Outcome> {
  return transport === 'http' ? overHttp(gw, token, query, variables) : overWs(gw, token, query, variables);
}

/** A kept-open graphql-ws client (`lazy: false`), for many operations on one socket. */
export function openWsClient(gw: Pick<TestGateway, 'wsUrl'>, token?: string): Client {
  return wsClient(gw.wsUrl, token === undefined ? undefined : bearer(token), { lazy: false });
}

export { wsRequest };

/** A raw socket speaking graphql-transport-ws, for what the graphql-ws client will not do. */
export function rawSocket(wsUrl: string, options: WebSocket.ClientOptions = {}): WebSocket {
  return new WebSocket(wsUrl, GRAPHQL_TRANSPORT_WS, options);
}

export const opened = (socket: WebSocket): Promise<void> =>
  new Promise((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res: IncomingMessage) =>
      reject(new Error(`upgrade refused: ${res.statusCode}`)),
    );
  });

export const closed = (socket: WebSocket): Promise<{ code: number; reason: string }> =>
  new Promise((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) return resolve({ code: -1, reason: 'already closed' });
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });

/** The status of a refused upgrade; rejects if the upgrade succeeds. */
export const refusedStatus = (socket: WebSocket): Promise<number> =>
  new Promise((resolve, reject) => {
    socket.once('unexpected-response', (_req, res: IncomingMessage) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      socket.terminate();
    });
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.on('error', () => undefined);
  });

/** Next message of a given type on a raw socket. */
export const nextMessage = (socket: WebSocket, type: string): Promise<Record<string, unknown>> =>
  new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      if (message.type !== type) return;
      socket.off('message', onMessage);
      resolve(message);
    };
    socket.on('message', onMessage);
    socket.once('close', (code) => reject(new Error(`closed with ${code} before ${type}`)));
  });

/** Opens a raw socket and completes connection_init / connection_ack. */
export async function initializedSocket(gw: Pick<TestGateway, 'wsUrl'>, token?: string): Promise<WebSocket> {
  const socket = rawSocket(gw.wsUrl);
  await opened(socket);
  const ack = nextMessage(socket, 'connection_ack');
  socket.send(JSON.stringify({ type: 'connection_init', payload: token ? { authorization: bearer(token) } : {} }));
  await ack;
  return socket;
}

/** Text a client must never see: stack frames, source paths, or an internal error for bad input. */
export const LEAK_MARKERS = ['    at ', '/work/', 'node_modules', '.ts:', 'INTERNAL_SERVER_ERROR'];

export const leaksIn = (text: string): string[] => LEAK_MARKERS.filter((marker) => text.includes(marker));
