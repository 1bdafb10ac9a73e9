import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../auth/principal';
import { unauthenticated, type KeywardError } from '../common/errors';

/** Per-operation context, the same shape on HTTP and on WebSocket. */
export interface GatewayContext {
  requestId: string;
  ip: string | null;
  principal: Principal | null;
  /** Why the credentials sent could not be accepted; raised by the first field that needs them. */
  authError: KeywardError | null;
  /** A fork of the global EntityManager for this operation only. */
  em: EntityManager;
  /**
   * Starts chat streams. Here because type-graphql's `subscribe` functions are static and
   * cannot reach a resolver instance.
   */
  chat: ChatStarter;
}

export interface ChatStarter {
  start(caller: Caller, input: unknown): Promise<AsyncIterableIterator<unknown>>;
}

/** An authenticated operation: what services receive. */
export interface Caller extends GatewayContext {
  principal: Principal;
}

export function callerOf(context: GatewayContext): Caller {
  if (context.authError) throw context.authError;
  if (!context.principal) throw unauthenticated();
  return context as Caller;
}
