import type { EntityManager } from '@mikro-orm/postgresql';

/** Where an operation's EntityManager comes from; reading `em` may fork it then. */
export interface EntityManagerSource {
  readonly em: EntityManager;
}

/**
 * A fork of the global EntityManager made on first use. A fork (a unit of work with its identity
 * map) costs tens of microseconds, and on a warm gateway most operations of the hot path (a chat's
 * authentication, profile and key, all from caches) never touch the database through one.
 */
export class ForkOnUse implements EntityManagerSource {
  private forked: EntityManager | null = null;

  constructor(private readonly root: EntityManager) {}

  get em(): EntityManager {
    return (this.forked ??= this.root.fork());
  }
}
