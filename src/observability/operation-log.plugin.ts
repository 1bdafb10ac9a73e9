import { performance } from 'node:perf_hooks';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../common/logger';
import type { GatewayContext } from '../server/context';
import type { Metrics } from './metrics';
import { recordOperation } from './operation-log';

/** Logs and counts every HTTP GraphQL request once it has its response. */
export function operationLogPlugin(log: Logger, metrics: Metrics): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      const startedAt = performance.now();
      return {
        async willSendResponse({ contextValue, operationName, operation, response }) {
          const body = response.body;
          const errors = body.kind === 'single' ? (body.singleResult.errors ?? []) : (body.initialResult.errors ?? []);
          recordOperation(log, metrics, {
            transport: 'http',
            operationName: operationName ?? null,
            operationType: operation?.operation ?? null,
            requestId: contextValue.requestId,
            principal: contextValue.principal,
            durationMs: performance.now() - startedAt,
            errorCodes: errors.map((error) => String(error.extensions?.code ?? 'UNKNOWN')),
          });
        },
      };
    },
  };
}
