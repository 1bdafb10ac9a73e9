import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  specifiedRules,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { CloseCode, handleProtocols, makeServer, type Server as GraphQLWsServer } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { clientAddress, type TrustProxy } from '../common/client-address';
import { ErrorCode } from '../common/codes';
import type { Logger } from '../common/logger';
import type { GatewayContext } from './context';
import type { ContextFactory } from './context-factory';
import { maskError } from './error-masking';
import { GRAPHQL_PATH } from './http';
import type { QueryLimits } from './query-limits';
import { createSubscriber } from './subscription-events';
import { UnauthenticatedSockets, type UnauthenticatedSocketLimits } from './unauthenticated-sockets';
import type { Principal } from '../auth/principal';
import { errorCodeLabel, type OperationFacts } from '../observability/operation-log';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { LRUCache } from 'lru-cache';

export interface WebSocketOptions {
  httpServer: Server;
  schema: GraphQLSchema;
  contexts: ContextFactory;
  log: Logger;
  /** A bigger message closes the socket with 1009 (Message Too Big). */
  maxPayloadBytes: number;
  /** No connection_init within this time: the socket is closed with 4408. */
  connectionInitWaitTimeoutMs: number;
  keepAliveMs: number;
  /**
   * The token limit, validation rules (depth, aliases, directives, cost, introspection) and
   * client-facing error wording HTTP applies through Apollo.
   */
  limits: QueryLimits;
  /**
   * Origins (scheme://host[:port]) allowed to open a socket. An upgrade carrying another Origin is
   * refused with 403 before the handshake; one without an Origin (non-browser clients) is accepted.
   * Undefined: any origin.
   */
  allowedOrigins?: readonly string[];
  /** Called once per finished operation (log line and metrics). */
  onOperationEnd?: (facts: OperationFacts) => void;
  /** Which proxies' X-Forwarded-For gives the client address, as on HTTP. */
  trustProxy: TrustProxy;
  /**
   * Sockets without a valid token, per client address and in all; a socket beyond them is closed
   * at once with 1013 (Try Again Later).
   */
  unauthenticatedLimits: UnauthenticatedSocketLimits;
  /** A socket that has not presented a valid token this long after opening is closed with 4401. */
  unauthenticatedTimeoutMs: number;
}

/** What is known of one operation while it runs. */
interface Operation {
  requestId: string;
  startedAt: number;
  name: string | null;
  type: string | null;
  /** The document parsed and validated and the operation to run was found. */
  resolved: boolean;
  principal: Principal | null;
  errorCodes: string[];
}

/** What every operation's context carries about its socket (graphql-ws's `ctx.extra`). */
interface Extra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  /** The client's address, through trusted proxies only. */
  readonly ip: string | null;
  /** Called when connection_init carried a valid token: the socket no longer counts as unauthenticated. */
  readonly authenticated: () => void;
}

const MAX_CACHED_QUERY_LENGTH = 16_384;

/** RFC 6455's "Try Again Later": the server refuses the socket for now. */
const TRY_AGAIN_LATER = 1013;

const requestError = (message: string, code: string, original?: GraphQLError) =>
  new GraphQLError(message, { nodes: original?.nodes, extensions: { code } });

/**
 * graphql-ws on the same port and path as HTTP. Apollo's request pipeline does not run here,
 * so parsing, validation (with the same extra rules), variable checks, authentication and error
 * masking are done explicitly for every operation.
 */
export function attachWebSocket(options: WebSocketOptions) {
  const { schema, contexts, log, limits } = options;
  const originAllowed = originPolicy(options.allowedOrigins);
  const wss = new WebSocketServer({
    server: options.httpServer,
    path: GRAPHQL_PATH,
    maxPayload: options.maxPayloadBytes,
    verifyClient: ({ req }: { req: IncomingMessage }, done: (allowed: boolean, code?: number, message?: string) => void) => {
      if (originAllowed(req.headers.origin)) return done(true);
      log.warn({ origin: String(req.headers.origin).slice(0, 200) }, 'WebSocket upgrade refused: origin not allowed');
      done(false, 403, 'Forbidden');
    },
  });
  const rules = [...specifiedRules, ...limits.webSocketValidationRules];
  const operations = new Map<string, Operation>();
  /**
   * Parsing and validating depend only on the query text (schema and rules are fixed), so a
   * chat front end sending the same subscription over and over pays for it once.
   */
  const validDocuments = new LRUCache<string, DocumentNode>({ max: 500 });
  const checkDocument = (query: string): { document: DocumentNode } | { errors: GraphQLError[] } => {
    const cached = validDocuments.get(query);
    if (cached) return { document: cached };
    const checked = parseAndValidate(query);
    // Only valid, ordinary-sized documents are kept: hostile input must not fill the cache.
    if ('document' in checked && query.length <= MAX_CACHED_QUERY_LENGTH) validDocuments.set(query, checked.document);
    return checked;
  };
  const parseAndValidate = (query: string): { document: DocumentNode } | { errors: GraphQLError[] } => {
    let document: DocumentNode;
    try {
      document = limits.parse(query);
    } catch (error) {
      // limits.parse throws only GraphQLErrors, with a client-safe message; keep their location.
      const { message, source, positions } = error as GraphQLError;
      return { errors: [new GraphQLError(message, { source, positions, extensions: { code: ErrorCode.GRAPHQL_PARSE_FAILED } })] };
    }
    const validationErrors = validate(schema, document, rules);
    if (validationErrors.length > 0) {
      return { errors: validationErrors.map((error) => requestError(error.message, ErrorCode.GRAPHQL_VALIDATION_FAILED, error)) };
    }
    return { document };
  };
  const clientErrors = (errors: readonly GraphQLError[], operation: Operation | undefined) => {
    const formatted = errors.map((error) => limits.formatError(maskError(error.toJSON(), error, operation?.requestId, log)));
    operation?.errorCodes.push(...formatted.map(errorCodeLabel));
    return formatted;
  };
  const finish = (key: string) => {
    const operation = operations.get(key);
    if (!operation) return;
    operations.delete(key);
    options.onOperationEnd?.({
      transport: 'ws',
      operationName: operation.name,
      operationType: operation.type,
      resolved: operation.resolved,
      requestId: operation.requestId,
      principal: operation.principal,
      durationMs: performance.now() - operation.startedAt,
      errorCodes: operation.errorCodes,
    });
  };

  const server = makeServer<Record<string, unknown> | undefined, Extra>({
    schema,
    subscribe: createSubscriber(schema),
    connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs,
    onConnect: async (ctx) => {
      const credentials = await contexts.checkConnection({
        authorization: ctx.connectionParams?.authorization,
        ip: ctx.extra.ip,
        requestId: randomUUID(),
      });
      // A refused token closes the socket with 4403; without one it may stay until its deadline.
      if (credentials === 'invalid') return false;
      if (credentials === 'valid') ctx.extra.authenticated();
      return true;
    },
    onSubscribe: async (ctx, id, payload) => {
      const requestId = randomUUID();
      const tracked: Operation = {
        requestId,
        startedAt: performance.now(),
        name: payload.operationName ?? null,
        type: null,
        resolved: false,
        principal: null,
        errorCodes: [],
      };
      operations.set(`${connectionKey(ctx)}:${id}`, tracked);
      const checked = checkDocument(payload.query);
      if (!('document' in checked)) return checked.errors;
      const { document } = checked;
      const operation = getOperationAST(document, payload.operationName);
      if (!operation) return [requestError('Could not determine the operation to run', ErrorCode.OPERATION_RESOLUTION_FAILURE)];
      tracked.name ??= operation.name?.value ?? null;
      tracked.type = operation.operation;
      tracked.resolved = true;
      const variables = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
      if (variables.errors) return variables.errors.map((error) => requestError(error.message, ErrorCode.BAD_USER_INPUT, error));

      let contextValue: GatewayContext;
      try {
        contextValue = await contexts.create({
          authorization: ctx.connectionParams?.authorization,
          ip: ctx.extra.ip,
          requestId,
        });
      } catch (error) {
        // Masked (and logged under the request id) in onError, instead of closing the socket.
        return [new GraphQLError('Internal server error', { originalError: error instanceof Error ? error : undefined })];
      }
      tracked.principal = contextValue.principal;
      const args: ExecutionArgs = {
        schema,
        document,
        operationName: payload.operationName,
        variableValues: variables.coerced,
        contextValue,
      };
      return args;
    },
    onNext: (ctx, id, _payload, _args, result) => {
      if (!result.errors?.length) return;
      return { ...result, errors: clientErrors(result.errors, operations.get(`${connectionKey(ctx)}:${id}`)) };
    },
    onError: (ctx, id, _payload, errors) => {
      const key = `${connectionKey(ctx)}:${id}`;
      const formatted = clientErrors(errors, operations.get(key));
      // Errors returned by onSubscribe end the operation without onComplete.
      finish(key);
      return formatted;
    },
    onComplete: (ctx, id) => {
      finish(`${connectionKey(ctx)}:${id}`);
    },
  });
  serveOverWs(wss, server, log, {
    keepAliveMs: options.keepAliveMs,
    trustProxy: options.trustProxy,
    unauthenticated: new UnauthenticatedSockets(options.unauthenticatedLimits),
    unauthenticatedTimeoutMs: options.unauthenticatedTimeoutMs,
  });

  return {
    wss,
    async close(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

interface SocketPolicy {
  keepAliveMs: number;
  trustProxy: TrustProxy;
  unauthenticated: UnauthenticatedSockets;
  unauthenticatedTimeoutMs: number;
}

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
function serveOverWs(wss: WebSocketServer, server: GraphQLWsServer<Extra>, log: Logger, policy: SocketPolicy): void {
  const { keepAliveMs } = policy;
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (error) => log.error({ err: error }, 'WebSocket server error'));
  wss.on('connection', (socket, request) => {
    socket.on('error', (error: Error & { code?: string }) => {
      log.warn({ code: error.code, reason: error.message.slice(0, 200) }, 'WebSocket client broke the protocol; socket closed');
    });

    const ip = clientAddress(request, policy.trustProxy);
    const release = policy.unauthenticated.admit(ip ?? 'unknown');
    if (!release) {
      socket.close(TRY_AGAIN_LATER, 'Too many unauthenticated connections');
      return;
    }
    const deadline = setTimeout(() => socket.close(CloseCode.Unauthorized, 'Unauthorized'), policy.unauthenticatedTimeoutMs);
    const authenticated = () => {
      clearTimeout(deadline);
      release();
    };

    // Keep-alive: a ping every keepAliveMs; no pong within the next keepAliveMs ends the socket.
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

    const send = batchedSender(socket, request.socket);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send,
        close: (code, reason) => socket.close(code, reason),
        onMessage: (onMessage) =>
          socket.on('message', async (data) => {
            try {
              await onMessage(String(data));
            } catch (error) {
              if (error instanceof Error && UNEXPECTED_MESSAGE.test(error.message)) {
                socket.close(CloseCode.BadRequest, 'Invalid message received');
                return;
              }
              log.error({ err: error }, 'WebSocket message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request, ip, authenticated },
    );

    socket.once('close', (code, reason) => {
      authenticated();
      clearTimeout(pongWait);
      clearInterval(pingInterval);
      closed(code, String(reason)).catch((error: unknown) => log.error({ err: error }, 'WebSocket close handling failed'));
    });
  });
}

/** Above this many bytes queued for a client, its operations wait for the socket to drain. */
const SEND_HIGH_WATER_BYTES = 256 * 1024;

/**
 * Sends messages without a system call each: the TCP socket is corked on the first message of
 * an event-loop turn and uncorked after it, so the deltas of one upstream chunk (and of every
 * stream on the socket) leave in one write. graphql-ws awaits each send, so waiting for each
 * write's callback would also serialise them one per turn; instead a send only waits when the
 * client is not keeping up, which bounds what is queued for it.
 */
function batchedSender(socket: WebSocket, transport: Duplex): (data: string) => Promise<void> | void {
  let corked = false;
  const flush = () => {
    corked = false;
    transport.uncork();
  };
  return (data) => {
    if (socket.readyState !== socket.OPEN) return;
    if (!corked) {
      corked = true;
      transport.cork();
      setImmediate(flush);
    }
    // A failed write also closes the socket, which ends its operations; nothing to report here.
    socket.send(data, () => undefined);
    if (socket.bufferedAmount + transport.writableLength > SEND_HIGH_WATER_BYTES) {
      return new Promise<void>((resolve) => {
        const done = () => {
          transport.off('drain', done);
          transport.off('close', done);
          resolve();
        };
        transport.on('drain', done);
        transport.on('close', done);
      });
    }
  };
}

/** makeServer's error for a well-formed message a client may not send (graphql-ws 6). */
const UNEXPECTED_MESSAGE = /^Unexpected message of type \S+ received$/;

/** Undefined list: any origin. Otherwise a missing Origin passes and a present one must be listed. */
function originPolicy(allowedOrigins: readonly string[] | undefined): (origin: string | undefined) => boolean {
  if (!allowedOrigins) return () => true;
  const allowed = new Set(allowedOrigins);
  return (origin) => {
    if (origin === undefined) return true;
    try {
      return allowed.has(new URL(origin).origin);
    } catch {
      return false; // "null" (sandboxed frames, file://) or garbage
    }
  };
}

const connectionIds = new WeakMap<object, string>();
/** Subscription ids are only unique per socket, so request ids are keyed by socket too. */
const connectionKey = (ctx: { extra: { socket: unknown } }): string => {
  const socket = ctx.extra.socket as object;
  let key = connectionIds.get(socket);
  if (!key) {
    key = randomUUID();
    connectionIds.set(socket, key);
  }
  return key;
};
