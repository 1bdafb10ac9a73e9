import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Server } from 'node:http';
import { ErrorCode } from '../common/codes';
import type { Logger } from '../common/logger';
import type { RequestContext } from '../auth/request-context';
import { maskError } from './error-masking';
import type { QueryLimits } from './query-limits';
import { currentRequestId } from './request-scope';

export interface ApolloOptions {
  schema: GraphQLSchema;
  httpServer: Server;
  log: Logger;
  /** Query limits and introspection policy, shared with the WebSocket transport. */
  limits: QueryLimits;
  production: boolean;
  plugins?: ApolloServerPlugin<RequestContext>[];
}

/**
 * graphql-js cannot stream a subscription into one HTTP response (it used to fail inside Apollo as
 * an internal error): refused as a client error before any resolver runs.
 */
const subscriptionsOverWebSocketOnly: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation !== 'subscription') return;
        throw new GraphQLError(
          'Subscriptions are served over WebSocket only: connect to this path with the graphql-transport-ws protocol (graphql-ws)',
          { extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } } },
        );
      },
    };
  },
};

export function createApollo(options: ApolloOptions): ApolloServer<RequestContext> {
  const { schema, httpServer, log, limits, production } = options;
  return new ApolloServer<RequestContext>({
    schema,
    introspection: limits.introspection,
    validationRules: [...limits.validationRules],
    parseOptions: limits.parseOptions,
    // Automatic persisted queries are off: WebSocket has no equivalent, they let any client fill
    // the server's document cache, and a hash that does not match its query came back as an
    // uncoded error (so INTERNAL_SERVER_ERROR after masking). Such requests now get
    // PERSISTED_QUERY_NOT_SUPPORTED.
    persistedQueries: false,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM/SIGINT and stops Apollo in order. Apollo's own handler (on by default
    // outside NODE_ENV=test) would stop it concurrently and then re-send the signal to the
    // process, which main.ts takes for a second signal: exit 1 instead of a clean 0.
    stopOnTerminationSignals: false,
    hideSchemaDetailsFromClientErrors: production,
    formatError: (formatted, error) => limits.formatError(maskError(formatted, error, currentRequestId(), log)),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Apollo's landing pages load scripts from Apollo's servers; no mode serves one.
      ApolloServerPluginLandingPageDisabled(),
      // Inline traces are for federation subgraphs, which this schema is not; without this, Apollo
      // loads its tracing plugin and usage-reporting protobuf (~0.4 MB of code) only to find that out.
      ApolloServerPluginInlineTraceDisabled(),
      subscriptionsOverWebSocketOnly,
      ...(options.plugins ?? []),
    ],
  });
}
