import type { EntityManager } from '@mikro-orm/postgresql';
import { unauthenticated, type KeywardError } from '../common/errors';
import type { Caller } from './caller';
import type { Principal } from './principal';

/** The GraphQL context of one operation, the same shape on HTTP and on WebSocket. */
export interface RequestContext {
  requestId: string;
  ip: string | null;
  principal: Principal | null;
  /** Why the credentials sent could not be accepted; raised by the first field that needs them. */
  authError: KeywardError | null;
  /** A fork of the global EntityManager for this operation only, made when first read. */
  readonly em: EntityManager;
  /**
   * Starts chat streams. Here because type-graphql's `subscribe` functions are static and
   * cannot reach a resolver instance.
   */
  chat: ChatStarter;
}

export interface ChatStarter {
  start(caller: Caller, input: unknown): Promise<AsyncIterableIterator<unknown>>;
}

/** The operation's caller; refused credentials raise their error, none at all UNAUTHENTICATED. */
export function callerOf(context: RequestContext): Caller {
  if (context.authError) throw context.authError;
  const { principal, requestId, ip } = context;
  if (!principal) throw unauthenticated();
  return {
    get em() {
      return context.em;
    },
    principal,
    requestId,
    ip,
  };
}
