import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from './principal';

/** Who performs an operation, and the unit of work it runs in: all a service is given about the request. */
export interface Caller {
  /** A fork of the global EntityManager for this operation only (forked when first read, see ForkOnUse). */
  readonly em: EntityManager;
  readonly principal: Principal;
  readonly requestId: string;
  /** The client's address, through trusted proxies only. */
  readonly ip: string | null;
}
