import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { ExecutionArgs, GraphQLError, GraphQLSchema } from 'graphql';
import { makeServer, type Server as GraphQLWsServer, type SubscribePayload } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import type { TrustProxy } from '../common/client-address';
import type { Logger } from '../common/logger';
import type { OperationFacts } from '../observability/operation-log';
import type { ContextFactory } from './context-factory';
import { maskError } from './error-masking';
import { GRAPHQL_PATH } from './http';
import type { QueryLimits } from './query-limits';
import { createSubscriber } from './subscription-events';
import { UnauthenticatedSockets, type UnauthenticatedSocketLimits } from './unauthenticated-sockets';
import { DocumentChecker } from './ws/document-checker';
import { operationContext } from './ws/operation-context';
import { coerceVariables, findOperation } from './ws/operation-request';
import { operationKey, OperationTracker, type TrackedOperation } from './ws/operation-tracker';
import { verifyOrigin } from './ws/origin-policy';
import { serveOverWs, type Extra } from './ws/socket-server';
import type { DirectSink } from './ws/direct-deltas';

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

type ConnectionContext = { readonly connectionParams?: Readonly<Record<string, unknown>>; readonly extra: Extra };

/**
 * graphql-ws on the same port and path as HTTP. Apollo's request pipeline does not run here,
 * so parsing, validation (with the same extra rules), variable checks, authentication and error
 * masking are done explicitly for every operation.
 */
export function attachWebSocket(options: WebSocketOptions) {
  const { log } = options;
  const wss = new WebSocketServer({
    server: options.httpServer,
    path: GRAPHQL_PATH,
    maxPayload: options.maxPayloadBytes,
    verifyClient: verifyOrigin(options.allowedOrigins, log),
  });
  serveOverWs(wss, graphqlWsServer(options), log, {
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

/** The protocol side: each hook hands its job to the part that does it, and tracks the operation. */
function graphqlWsServer(options: WebSocketOptions): GraphQLWsServer<Extra> {
  const { schema, contexts, log, limits } = options;
  const documents = new DocumentChecker(schema, limits);
  const operations = new OperationTracker(options.onOperationEnd);
  const clientErrors = (errors: readonly GraphQLError[], operation: TrackedOperation | undefined) => {
    const formatted = errors.map((error) =>
      limits.formatError(maskError(error.toJSON(), error, operation?.requestId, log)),
    );
    operation?.errorCodes.push(...formatted.map((error) => String(error.extensions?.code ?? 'UNKNOWN')));
    return formatted;
  };
  const keyOf = (ctx: ConnectionContext, id: string) => operationKey(ctx.extra.socket, id);
  /** Each subscription's socket and id, for the deltas written without graphql-ws (direct-deltas.ts). */
  const sinks = new WeakMap<ExecutionArgs, DirectSink>();

  /**
   * Everything between a subscribe message and execution: the document, the operation in it, its
   * variables and its authenticated context. Errors returned end the operation before it runs.
   */
  const prepare = async (
    ctx: ConnectionContext,
    id: string,
    payload: SubscribePayload,
  ): Promise<ExecutionArgs | readonly GraphQLError[]> => {
    const requestId = randomUUID();
    const tracked = operations.start(keyOf(ctx, id), requestId, payload.operationName ?? null);
    const checked = documents.check(payload.query);
    if ('errors' in checked) return checked.errors;
    const found = findOperation(checked.document, payload.operationName);
    if ('errors' in found) return found.errors;
    tracked.name ??= found.operation.name?.value ?? null;
    tracked.type = found.operation.operation;
    tracked.resolved = true;
    const variables = coerceVariables(schema, found.operation, payload.variables);
    if ('errors' in variables) return variables.errors;
    const contextValue = await operationContext(contexts, {
      authorization: ctx.connectionParams?.authorization,
      ip: ctx.extra.ip,
      requestId,
    });
    if (Array.isArray(contextValue)) return contextValue;
    tracked.principal = contextValue.principal;
    const args: ExecutionArgs = {
      schema,
      document: checked.document,
      operationName: payload.operationName,
      variableValues: variables.variableValues,
      contextValue,
    };
    sinks.set(args, { id, sender: ctx.extra.sender });
    return args;
  };

  return makeServer<Record<string, unknown> | undefined, Extra>({
    schema,
    subscribe: createSubscriber(schema, (args) => sinks.get(args)),
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
    onSubscribe: (ctx, id, payload) => prepare(ctx, id, payload),
    onNext: (ctx, id, _payload, _args, result) => {
      if (!result.errors?.length) return;
      return { ...result, errors: clientErrors(result.errors, operations.get(keyOf(ctx, id))) };
    },
    onError: (ctx, id, _payload, errors) => {
      const key = keyOf(ctx, id);
      const formatted = clientErrors(errors, operations.get(key));
      // Errors returned by onSubscribe end the operation without onComplete.
      operations.finish(key);
      return formatted;
    },
    onComplete: (ctx, id) => {
      operations.finish(keyOf(ctx, id));
    },
  });
}
