import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, type Server as GraphQLWsServer } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { clientAddress, type TrustProxy } from '../../common/client-address';
import type { Logger } from '../../common/logger';
import type { UnauthenticatedSockets } from '../unauthenticated-sockets';
import { batchedSender, type SocketSender } from './batched-sender';

/** What every operation's context carries about its socket (graphql-ws's `ctx.extra`). */
export interface Extra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  /** The client's address, through trusted proxies only. */
  readonly ip: string | null;
  /** Called when connection_init carried a valid token: the socket no longer counts as unauthenticated. */
  readonly authenticated: () => void;
  /** The socket's sender (batchedSender), for messages written without graphql-ws. */
  readonly sender: SocketSender;
}

export interface SocketPolicy {
  keepAliveMs: number;
  trustProxy: TrustProxy;
  unauthenticated: UnauthenticatedSockets;
  unauthenticatedTimeoutMs: number;
}

/** RFC 6455's "Try Again Later": the server refuses the socket for now. */
const TRY_AGAIN_LATER = 1013;

/** makeServer's error for a well-formed message a client may not send (graphql-ws 6). */
const UNEXPECTED_MESSAGE = /^Unexpected message of type \S+ received$/;

/**
 * graphql-ws's own `useServer` from 'graphql-ws/use/ws' (which its docs invite copying), with
 * four changes: sockets without a valid token are bounded in number and lifetime (see
 * SocketPolicy), a client-sent message of a type only servers send (next, error, connection_ack)
 * closes the socket with 4400 like any other invalid message instead of 4500, socket errors and
 * internal errors go to the logger instead of console.error with their stack (a client could
 * otherwise flood stderr: ws emits an 'error' for every protocol violation, e.g. a message over
 * maxPayload, after closing the socket with the matching code 1009, 1007 or 1002), and close
 * reasons never carry an error's message.
 */
export function serveOverWs(
  wss: WebSocketServer,
  server: GraphQLWsServer<Extra>,
  log: Logger,
  policy: SocketPolicy,
): void {
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (error) => log.error({ err: error }, 'WebSocket server error'));
  wss.on('connection', (socket, request) => {
    socket.on('error', (error: Error & { code?: string }) => {
      log.warn(
        { code: error.code, reason: error.message.slice(0, 200) },
        'WebSocket client broke the protocol; socket closed',
      );
    });

    const ip = clientAddress(request, policy.trustProxy);
    const authenticated = admitUnauthenticated(socket, ip, policy);
    if (!authenticated) return;
    const stopKeepAlive = keepAlive(socket, policy.keepAliveMs);
    const sender = batchedSender(socket, request.socket);

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: sender.send,
        close: sender.close,
        onMessage: (onMessage) =>
          socket.on('message', (data) => handleMessage(sender.close, log, () => onMessage(String(data)))),
      },
      { socket, request, ip, authenticated, sender },
    );

    socket.once('close', (code, reason) => {
      authenticated();
      stopKeepAlive();
      closed(code, String(reason)).catch((error: unknown) =>
        log.error({ err: error }, 'WebSocket close handling failed'),
      );
    });
  });
}

/**
 * Counts a new socket as unauthenticated until it presents a valid token. Beyond the limits it is
 * closed at once with 1013 (undefined is returned); otherwise it is closed with 4401 at the deadline
 * unless the returned callback (which also releases its place) is called first.
 */
function admitUnauthenticated(socket: WebSocket, ip: string | null, policy: SocketPolicy): (() => void) | undefined {
  const release = policy.unauthenticated.admit(ip ?? 'unknown');
  if (!release) {
    socket.close(TRY_AGAIN_LATER, 'Too many unauthenticated connections');
    return undefined;
  }
  const deadline = setTimeout(
    () => socket.close(CloseCode.Unauthorized, 'Unauthorized'),
    policy.unauthenticatedTimeoutMs,
  );
  return () => {
    clearTimeout(deadline);
    release();
  };
}

/** A ping every keepAliveMs; no pong within the next keepAliveMs ends the socket. Returns the stop. */
function keepAlive(socket: WebSocket, keepAliveMs: number): () => void {
  let pongWait: NodeJS.Timeout | undefined;
  const pingInterval = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    pongWait ??= setTimeout(() => socket.terminate(), keepAliveMs);
    socket.once('pong', () => {
      clearTimeout(pongWait);
      pongWait = undefined;
    });
    socket.ping();
  }, keepAliveMs);
  return () => {
    clearTimeout(pongWait);
    clearInterval(pingInterval);
  };
}

/** Hands one message to graphql-ws; a message no client may send closes with 4400, anything else with 4500. */
async function handleMessage(close: SocketSender['close'], log: Logger, handle: () => Promise<void>): Promise<void> {
  try {
    await handle();
  } catch (error) {
    if (error instanceof Error && UNEXPECTED_MESSAGE.test(error.message)) {
      close(CloseCode.BadRequest, 'Invalid message received');
      return;
    }
    log.error({ err: error }, 'WebSocket message handling failed');
    close(CloseCode.InternalServerError, 'Internal server error');
  }
}
