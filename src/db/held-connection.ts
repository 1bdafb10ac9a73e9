import type { EntityManager } from '@mikro-orm/postgresql';

/** The pg client that knex's pool hands out, as far as it is used here. */
export interface PooledConnection {
  query(config: { name?: string; text: string; values: readonly unknown[] }): Promise<{ rows: unknown[] }>;
  once(event: 'end' | 'error', listener: () => void): unknown;
  off(event: 'end' | 'error', listener: () => void): unknown;
}

/** Where a statement run outside the unit of work gets its connection, and gives it back. */
export interface ConnectionSource {
  acquire(): Promise<PooledConnection>;
  /**
   * The connection at once when one is already held and open (null otherwise, then `acquire`):
   * a statement then leaves in its caller's own turn, not after every promise callback already
   * queued (at concurrency 1, a chat's admission left 0.1–0.2 ms later that way, behind its planning).
   */
  acquireHeld?(): PooledConnection | null;
  release(connection: PooledConnection): void;
  /** A statement on `connection` failed other than with an SQL error (the connection may be broken). */
  failed?(connection: PooledConnection): void;
}

/** knex's client: its pool (the one MikroORM's queries share, with its validation and afterCreate). */
interface KnexClient {
  acquireConnection(): Promise<PooledConnection>;
  releaseConnection(connection: PooledConnection): Promise<void>;
}

const knexClient = (em: EntityManager): KnexClient => em.getConnection().getKnex().client as unknown as KnexClient;

const pools = new WeakMap<KnexClient, ConnectionSource>();

/** A connection from the pool per statement (one source per pool, not one per statement). */
export function poolOf(em: EntityManager): ConnectionSource {
  const client = knexClient(em);
  let pool = pools.get(client);
  if (!pool) {
    pool = {
      acquire: () => client.acquireConnection(),
      release: (connection) => void client.releaseConnection(connection),
    };
    pools.set(client, pool);
  }
  return pool;
}

/** How long a held connection stays out of the pool after its last statement. */
export const HELD_CONNECTION_IDLE_MS = 1000;

/**
 * One pooled connection kept between the statements of a caller that sends them one after the
 * other (a GroupCommit queue: the chat admissions, the chats' ends), and given back to the pool
 * once it has been idle for `idleMs`. Taking a connection from knex's pool (tarn: two pending
 * operations with their timers, a validation, several promise hops) cost about 0.08 ms per
 * statement, twice on the path of every chat. A connection that ends or fails while held, or on
 * which a statement fails other than with an SQL error, is given back (the pool's validation
 * discards a broken one) and the next statement takes a fresh one.
 */
export class HeldConnection implements ConnectionSource {
  private held: Promise<PooledConnection> | null = null;
  /** What `held` resolved to, once it has. */
  private ready: PooledConnection | null = null;
  private users = 0;
  private lastUsed = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Taken from the pool for one statement after close(). */
  private readonly lentAfterClose = new WeakSet<PooledConnection>();
  private readonly client: KnexClient;

  constructor(
    root: EntityManager,
    private readonly idleMs = HELD_CONNECTION_IDLE_MS,
  ) {
    this.client = knexClient(root);
  }

  async acquire(): Promise<PooledConnection> {
    if (this.closed) {
      const connection = await this.client.acquireConnection();
      this.lentAfterClose.add(connection);
      return connection;
    }
    this.users += 1;
    try {
      const held = (this.held ??= this.take());
      const connection = await held;
      // Unless it was given back meanwhile (then the next statement takes a fresh one).
      if (this.held === held) this.ready = connection;
      return connection;
    } catch (error) {
      this.users -= 1;
      throw error;
    }
  }

  acquireHeld(): PooledConnection | null {
    if (this.closed || !this.ready) return null;
    this.users += 1;
    return this.ready;
  }

  release(connection: PooledConnection): void {
    if (this.lentAfterClose.delete(connection)) {
      void this.client.releaseConnection(connection);
      return;
    }
    this.users -= 1;
    if (this.users > 0) return;
    this.lastUsed = Date.now();
    if (this.closed) this.giveBack();
    else this.timer ??= this.idleTimer(this.idleMs);
  }

  /** A statement on `connection` failed other than in SQL: the next one takes a fresh connection. */
  failed(connection: PooledConnection): void {
    this.giveBackIfHeld(connection);
  }

  /** Gives the connection back now (at shutdown: the pool waits for every connection it lent). */
  close(): void {
    this.closed = true;
    if (this.users === 0) this.giveBack();
  }

  private async take(): Promise<PooledConnection> {
    const connection = await this.client.acquireConnection().catch((error: unknown) => {
      this.held = null;
      throw error;
    });
    const lost = () => this.giveBackIfHeld(connection);
    connection.once('end', lost);
    connection.once('error', lost);
    this.unwatch = () => {
      connection.off('end', lost);
      connection.off('error', lost);
    };
    return connection;
  }

  /** Stops listening to the held connection's end and errors. */
  private unwatch: () => void = () => undefined;

  /** Gives `connection` back if it is still the one held (the pool's validation discards a broken one). */
  private giveBackIfHeld(connection: PooledConnection): void {
    void this.held?.then(
      (held) => {
        if (held === connection) this.giveBack();
      },
      () => undefined,
    );
  }

  private idleTimer(delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timer = null;
      if (this.users > 0) return;
      const idle = Date.now() - this.lastUsed;
      if (idle >= this.idleMs) this.giveBack();
      else this.timer = this.idleTimer(this.idleMs - idle);
    }, delayMs);
    timer.unref();
    return timer;
  }

  private giveBack(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    this.ready = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unwatch();
    this.unwatch = () => undefined;
    void held.then((connection) => this.client.releaseConnection(connection)).catch(() => undefined);
  }
}
