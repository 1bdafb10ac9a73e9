import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { Server } from 'node:http';
import type { Logger } from '../common/logger';
import type { GatewayContext } from './context';
import { maskError } from './error-masking';
import { currentRequestId } from './request-scope';

export interface ApolloOptions {
  schema: GraphQLSchema;
  httpServer: Server;
  log: Logger;
  introspection: boolean;
  production: boolean;
  plugins?: ApolloServerPlugin<GatewayContext>[];
}

export function createApollo(options: ApolloOptions): ApolloServer<GatewayContext> {
  const { schema, httpServer, log, introspection, production } = options;
  return new ApolloServer<GatewayContext>({
    schema,
    introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: production,
    formatError: (formatted, error) => maskError(formatted, error, currentRequestId(), log),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ...(production ? [ApolloServerPluginLandingPageDisabled()] : []),
      ...(options.plugins ?? []),
    ],
  });
}
