import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Principal } from '../../auth/principal';
import type { OperationFacts } from '../../observability/operation-log';

/** What is known of one operation while it runs. */
export interface TrackedOperation {
  readonly requestId: string;
  readonly startedAt: number;
  name: string | null;
  type: string | null;
  /** The document parsed and validated and the operation to run was found. */
  resolved: boolean;
  principal: Principal | null;
  readonly errorCodes: string[];
}

/**
 * The operations running on every socket, from subscribe to their end, so that each finished
 * one is reported once (log line and metrics) with what was learnt of it on the way.
 */
export class OperationTracker {
  private readonly running = new Map<string, TrackedOperation>();

  constructor(
    private readonly onEnd: ((facts: OperationFacts) => void) | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(key: string, requestId: string, name: string | null): TrackedOperation {
    const operation: TrackedOperation = {
      requestId,
      startedAt: this.now(),
      name,
      type: null,
      resolved: false,
      principal: null,
      errorCodes: [],
    };
    this.running.set(key, operation);
    return operation;
  }

  get(key: string): TrackedOperation | undefined {
    return this.running.get(key);
  }

  /** Reports the operation once; later calls for the same key do nothing. */
  finish(key: string): void {
    const operation = this.running.get(key);
    if (!operation) return;
    this.running.delete(key);
    this.onEnd?.({
      transport: 'ws',
      operationName: operation.name,
      operationType: operation.type,
      resolved: operation.resolved,
      requestId: operation.requestId,
      principal: operation.principal,
      durationMs: this.now() - operation.startedAt,
      errorCodes: operation.errorCodes,
    });
  }
}

const connectionIds = new WeakMap<object, string>();

/** Subscription ids are only unique per socket, so operations are keyed by socket too. */
export const operationKey = (socket: object, id: string): string => {
  let connection = connectionIds.get(socket);
  if (!connection) {
    connection = randomUUID();
    connectionIds.set(socket, connection);
  }
  return `${connection}:${id}`;
};
