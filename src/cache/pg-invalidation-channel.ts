import { randomUUID } from 'node:crypto';
import type { Knex } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { parseStreamStop } from './stream-stop';
import type {
  CacheInvalidation,
  InvalidationBroadcast,
  InvalidationChannelState,
  TenantChange,
} from './cache-invalidation';
import { isSessionPinned } from './session-pinning';

export const INVALIDATION_CHANNEL = 'keyward_cache_invalidation';
const RECONNECT_DELAY_MS = 1_000;
/** How long the first notification may take to come back before the channel is judged broken. */
const PROBE_TIMEOUT_MS = 1_000;
/** A database that does not deliver notifications is asked again this much later. */
const REPROBE_DELAY_MS = 30_000;

interface Notification {
  channel: string;
  payload?: string;
}

/** The part of a pg client this channel uses. */
interface ListeningConnection {
  query(sql: string): Promise<unknown>;
  on(event: 'notification', listener: (message: Notification) => void): unknown;
  on(event: 'error' | 'end', listener: (error?: Error) => void): unknown;
  removeAllListeners(): unknown;
}

/**
 * Cache invalidation between gateway processes over PostgreSQL LISTEN/NOTIFY: one dedicated
 * connection (outside the pool) listens; changes are published with pg_notify through the pool.
 * Caches are used only once a probe notification has made the round trip, and are bypassed
 * whenever the listening connection is down: a server (or proxy) that does not deliver
 * notifications costs speed, never correctness.
 */
export class PgInvalidationChannel implements InvalidationBroadcast {
  private connection: ListeningConnection | null = null;
  private reconnect: NodeJS.Timeout | null = null;
  private closed = false;
  private probe: { id: string; arrived: () => void } | null = null;
  private warnedUndelivered = false;
  private reportedPooler = false;

  constructor(
    private readonly knex: Knex,
    private readonly invalidation: CacheInvalidation,
    private readonly log: Logger,
  ) {}

  /** Listens before returning, so nothing committed after start is missed. */
  async start(): Promise<void> {
    this.invalidation.attach(this);
    this.invalidation.setConnected(false, 'connecting');
    await this.listen();
  }

  async publish(change: TenantChange): Promise<void> {
    await this.knex.raw('select pg_notify(?, ?)', [INVALIDATION_CHANNEL, JSON.stringify(change)]);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnect) clearTimeout(this.reconnect);
    const connection = this.connection;
    this.connection = null;
    if (connection) {
      connection.removeAllListeners();
      await this.knex.client.destroyRawConnection(connection).catch(() => undefined);
    }
  }

  /** True once listening with notifications known to arrive. */
  private async listen(): Promise<boolean> {
    const connection = (await this.knex.client.acquireRawConnection()) as ListeningConnection;
    connection.on('notification', (message) => {
      if (message.channel !== INVALIDATION_CHANNEL) return;
      if (isProbe(message.payload)) {
        // Every process probes when it (re)connects; another's probe says nothing about the data.
        if (this.probe && message.payload === probePayload(this.probe.id)) this.probe.arrived();
        return;
      }
      this.invalidation.invalidateLocally(parseChange(message.payload));
    });
    connection.on('error', (error) => this.lost(connection, error));
    connection.on('end', () => this.lost(connection, new Error('the listening connection ended')));
    let pinned: boolean;
    try {
      // Checked before LISTEN, so that the connection's last statement (pg_stat_activity) stays the LISTEN.
      pinned = await isSessionPinned(connection, this.knex);
      await connection.query(`listen ${INVALIDATION_CHANNEL}`);
    } catch (error) {
      await this.knex.client.destroyRawConnection(connection).catch(() => undefined);
      throw error;
    }
    this.connection = connection;
    if (!pinned) {
      if (!this.reportedPooler) {
        this.reportedPooler = true;
        this.log.error(
          'DATABASE_URL goes through a connection pooler in transaction or statement mode (PgBouncer pool_mode=transaction?): ' +
            'the cache invalidation connection is not pinned to one PostgreSQL backend, so LISTEN/NOTIFY cannot work. ' +
            'Serving without per-process caches (every request reads the database) and checking again every 30 s. ' +
            'Point DATABASE_URL at PostgreSQL itself or at a session-mode pool (docs/operations.md, PgBouncer).',
        );
      }
      this.lost(connection, undefined, REPROBE_DELAY_MS, 'pooled-transaction-mode');
      return false;
    }
    if (await this.roundTrip()) {
      this.invalidation.setConnected(true);
      return true;
    }
    if (!this.warnedUndelivered) {
      this.warnedUndelivered = true;
      this.log.warn('this database does not deliver LISTEN/NOTIFY notifications: per-process caches stay off');
    }
    this.lost(connection, undefined, REPROBE_DELAY_MS, 'notifications-not-delivered');
    return false;
  }

  /** Whether a notification sent through the pool reaches the listening connection. */
  private async roundTrip(): Promise<boolean> {
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<boolean>((resolve) => {
      this.probe = { id, arrived: () => resolve(true) };
      timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
    });
    try {
      await this.knex.raw('select pg_notify(?, ?)', [INVALIDATION_CHANNEL, probePayload(id)]);
      return await arrived;
    } finally {
      clearTimeout(timer);
      this.probe = null;
    }
  }

  private lost(
    connection: ListeningConnection,
    error?: Error,
    retryAfterMs = RECONNECT_DELAY_MS,
    state: InvalidationChannelState = 'lost',
  ): void {
    if (this.connection !== connection || this.closed) return;
    this.connection = null;
    connection.removeAllListeners();
    void this.knex.client.destroyRawConnection(connection).catch(() => undefined);
    this.invalidation.setConnected(false, state);
    if (error) this.log.warn({ err: error }, 'cache invalidation channel lost: caches bypassed until it reconnects');
    this.scheduleReconnect(retryAfterMs);
  }

  private scheduleReconnect(delayMs = RECONNECT_DELAY_MS): void {
    this.reconnect = setTimeout(() => {
      this.reconnect = null;
      if (this.closed) return;
      this.listen().then(
        (listening) => listening && this.log.info('cache invalidation channel listening again'),
        () => this.scheduleReconnect(),
      );
    }, delayMs);
    this.reconnect.unref();
  }
}

const probePayload = (id: string): string => JSON.stringify({ probe: id });
const isProbe = (payload: string | undefined): boolean => payload?.startsWith('{"probe":') === true;

/** A payload that does not parse (not ours) drops everything rather than nothing. */
function parseChange(payload: string | undefined): TenantChange | null {
  try {
    const change = JSON.parse(payload ?? '') as Partial<TenantChange>;
    if (typeof change.tenantId !== 'string') return null;
    const stop = parseStreamStop(change.stop);
    return { tenantId: change.tenantId, dataKeys: change.dataKeys === true, ...(stop ? { stop } : {}) };
  } catch {
    return null;
  }
}
