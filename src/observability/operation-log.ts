import type { Logger } from '../common/logger';
import type { Principal } from '../auth/principal';
import type { Metrics } from './metrics';

export interface OperationFacts {
  transport: 'http' | 'ws';
  operationName: string | null;
  operationType: string | null;
  requestId: string;
  principal: Principal | null;
  durationMs: number;
  /** extensions.code of every error in the response. */
  errorCodes: string[];
}

/** One structured line and the request/error counters per GraphQL operation, on either transport. */
export function recordOperation(log: Logger, metrics: Metrics, facts: OperationFacts): void {
  const operation = facts.operationName ?? 'anonymous';
  const outcome = facts.errorCodes.length === 0 ? 'success' : 'error';
  metrics.requests.inc({ operation, transport: facts.transport, outcome });
  for (const code of facts.errorCodes) metrics.errors.inc({ operation, code });
  log.info(
    {
      requestId: facts.requestId,
      transport: facts.transport,
      operation,
      operationType: facts.operationType,
      tenantId: facts.principal?.tenantId ?? null,
      userId: facts.principal?.userId ?? null,
      durationMs: Math.round(facts.durationMs * 10) / 10,
      outcome,
      ...(facts.errorCodes.length ? { errorCodes: facts.errorCodes } : {}),
    },
    'graphql operation',
  );
}
