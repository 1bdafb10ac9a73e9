import { boundedText } from '../common/bounded-text';
import type { Logger } from '../common/logger';
import type { Principal } from '../auth/principal';
import type { Metrics } from './metrics';

/** Longest client-chosen operation name written to a log line. */
const LOGGED_NAME_LENGTH = 64;

export interface OperationFacts {
  transport: 'http' | 'ws';
  /** As the client named it: for an invalid document, whatever it sent. */
  operationName: string | null;
  operationType: string | null;
  /** The document parsed and validated and names the operation that ran (or was refused). */
  resolved: boolean;
  requestId: string;
  /** The client's own X-Request-Id (HTTP), logged beside the server's id. */
  clientRequestId?: string;
  principal: Principal | null;
  durationMs: number;
  /** extensions.code of every error in the response. */
  errorCodes: string[];
}

/** An error's label in the log and the error counter: its code, or UNKNOWN when it has none. */
export const errorCodeLabel = (error: { readonly extensions?: { readonly [key: string]: unknown } }): string =>
  String(error.extensions?.code ?? 'UNKNOWN');

/** One structured line and the request/error counters per GraphQL operation, on either transport. */
export function recordOperation(log: Logger, metrics: Metrics, facts: OperationFacts): void {
  const label = metrics.operationLabels.labelFor({
    resolved: facts.resolved,
    authenticated: facts.principal !== null,
    name: facts.operationName,
  });
  const outcome = facts.errorCodes.length === 0 ? 'success' : 'error';
  metrics.requests.inc({ operation: label, transport: facts.transport, outcome });
  for (const code of facts.errorCodes) metrics.errors.inc({ operation: label, code });
  log.info(
    {
      requestId: facts.requestId,
      ...(facts.clientRequestId ? { clientRequestId: facts.clientRequestId } : {}),
      transport: facts.transport,
      operation: facts.operationName === null ? 'anonymous' : boundedText(facts.operationName, LOGGED_NAME_LENGTH),
      operationType: facts.operationType,
      tenantId: facts.principal?.tenantId ?? null,
      userId: facts.principal?.userId ?? null,
      durationMs: Math.round(facts.durationMs * 10) / 10,
      outcome,
      ...(facts.errorCodes.length ? { errorCodes: facts.errorCodes.slice(0, 20) } : {}),
    },
    'graphql operation',
  );
}
