import { performance } from 'node:perf_hooks';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../common/logger';
import type { RequestContext } from '../auth/request-context';
import { clientRequestIdFrom } from './request-scope';
import type { Metrics } from '../observability/metrics';
import { errorCodeLabel, recordOperation } from '../observability/operation-log';

/** Logs and counts every HTTP GraphQL request once it has its response. */
export function operationLogPlugin(log: Logger, metrics: Metrics): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      const startedAt = performance.now();
      return {
        async willSendResponse({ contextValue, request, operationName, operation, response }) {
          const body = response.body;
          const errors = body.kind === 'single' ? (body.singleResult.errors ?? []) : (body.initialResult.errors ?? []);
          recordOperation(log, metrics, {
            transport: 'http',
            // Apollo sets operationName only once the document validated; before that, the request's.
            operationName: operationName ?? (typeof request.operationName === 'string' ? request.operationName : null),
            operationType: operation?.operation ?? null,
            resolved: operation !== undefined,
            requestId: contextValue.requestId,
            clientRequestId: clientRequestIdFrom(request.http?.headers.get('x-request-id')),
            principal: contextValue.principal,
            durationMs: performance.now() - startedAt,
            errorCodes: errors.map(errorCodeLabel),
          });
        },
      };
    },
  };
}
