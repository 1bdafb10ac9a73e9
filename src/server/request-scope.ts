import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestScope {
  requestId: string;
}

/** Carries the request id through everything an HTTP request or WebSocket operation awaits. */
export const requestScope = new AsyncLocalStorage<RequestScope>();

export const currentRequestId = (): string | undefined => requestScope.getStore()?.requestId;

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{8,100}$/;

/**
 * A client's own X-Request-Id, kept only when it is short and plain. It is never the request id
 * (audit and usage rows join on the server's id, which a client must not be able to choose): it is
 * only logged beside it, as `clientRequestId`, so a client's trace can be matched to a log line.
 */
export const clientRequestIdFrom = (header: unknown): string | undefined =>
  typeof header === 'string' && CLIENT_REQUEST_ID.test(header) ? header : undefined;
