import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export interface RequestScope {
  requestId: string;
}

/** Carries the request id through everything an HTTP request or WebSocket operation awaits. */
export const requestScope = new AsyncLocalStorage<RequestScope>();

export const currentRequestId = (): string | undefined => requestScope.getStore()?.requestId;

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{8,100}$/;

/** A client-supplied X-Request-Id is kept only when it is short and plain, else a new one is made. */
export const requestIdFrom = (header: unknown): string =>
  typeof header === 'string' && CLIENT_REQUEST_ID.test(header) ? header : randomUUID();
