import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type ValidationRule,
  specifiedRules,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '../common/logger';
import type { GatewayContext } from './context';
import type { ContextFactory } from './context-factory';
import { maskError } from './error-masking';
import { GRAPHQL_PATH } from './http';

export interface WebSocketOptions {
  httpServer: Server;
  schema: GraphQLSchema;
  contexts: ContextFactory;
  log: Logger;
  maxPayloadBytes: number;
  connectionInitWaitTimeoutMs: number;
  keepAliveMs: number;
  /** Extra validation rules: the same limits HTTP applies through Apollo. */
  validationRules?: readonly ValidationRule[];
}

const requestError = (message: string, code: string, original?: GraphQLError) =>
  new GraphQLError(message, { nodes: original?.nodes, extensions: { code } });

/**
 * graphql-ws on the same port and path as HTTP. Apollo's request pipeline does not run here,
 * so parsing, validation (with the same extra rules), variable checks, authentication and error
 * masking are done explicitly for every operation.
 */
export function attachWebSocket(options: WebSocketOptions) {
  const { schema, contexts, log } = options;
  const wss = new WebSocketServer({ server: options.httpServer, path: GRAPHQL_PATH, maxPayload: options.maxPayloadBytes });
  const rules = [...specifiedRules, ...(options.validationRules ?? [])];
  const requestIds = new Map<string, string>();

  const cleanup = useServer<Record<string, unknown> | undefined>(
    {
      schema,
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs,
      onSubscribe: async (ctx, id, payload) => {
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: 10_000 });
        } catch (error) {
          return [requestError(error instanceof GraphQLError ? error.message : 'Syntax error', 'GRAPHQL_PARSE_FAILED')];
        }
        const validationErrors = validate(schema, document, rules);
        if (validationErrors.length > 0) {
          return validationErrors.map((error) => requestError(error.message, 'GRAPHQL_VALIDATION_FAILED', error));
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [requestError('Could not determine the operation to run', 'OPERATION_RESOLUTION_FAILURE')];
        const variables = getVariableValues(schema, operation.variableDefinitions ?? [], payload.variables ?? {});
        if (variables.errors) return variables.errors.map((error) => requestError(error.message, 'BAD_USER_INPUT', error));

        const requestId = randomUUID();
        requestIds.set(`${connectionKey(ctx)}:${id}`, requestId);
        const contextValue: GatewayContext = await contexts.create({
          authorization: ctx.connectionParams?.authorization,
          ip: ctx.extra.request.socket.remoteAddress ?? null,
          requestId,
        });
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
        const requestId = requestIds.get(`${connectionKey(ctx)}:${id}`);
        return {
          ...result,
          errors: result.errors.map((error) => maskError(error.toJSON(), error, requestId, log)),
        };
      },
      onError: (ctx, id, _payload, errors) => {
        const requestId = requestIds.get(`${connectionKey(ctx)}:${id}`);
        return errors.map((error) => maskError(error.toJSON(), error, requestId, log));
      },
      onComplete: (ctx, id) => {
        requestIds.delete(`${connectionKey(ctx)}:${id}`);
      },
    },
    wss,
    options.keepAliveMs,
  );

  return {
    wss,
    async close(): Promise<void> {
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
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
