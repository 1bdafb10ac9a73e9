import type { Logger } from '../common/logger';
import type { StreamStop } from './stream-stop';

/** What changed for a tenant: its rows (identities, policy, credentials), or also its data keys. */
export interface TenantChange {
  tenantId: string;
  /** The tenant's data keys were rotated or destroyed: unwrapped copies must go too. */
  dataKeys?: boolean;
  /** Open chat streams this change concerns must end at once (the tenant, a credential or a token is gone). */
  stop?: StreamStop;
}

/**
 * The cross-process channel, as /readyz and the metrics report it. `in-process`: no channel is
 * needed (the embedded database has one process). `pooled-transaction-mode`: the database URL
 * goes through a pooler that does not keep a session (PgBouncer in transaction mode), so LISTEN
 * cannot work there.
 */
export type InvalidationChannelState =
  'in-process' | 'connecting' | 'listening' | 'lost' | 'notifications-not-delivered' | 'pooled-transaction-mode';

/** `null`: anything may have changed (a missed notification): drop everything. */
export type InvalidationListener = (change: TenantChange | null) => void;

/** Carries a change to the other gateway processes (PostgreSQL NOTIFY). */
export interface InvalidationBroadcast {
  publish(change: TenantChange): Promise<void>;
}

/**
 * The one place that drops the per-process caches of database facts (principals, tenant
 * policy, credential rows, data keys). Services call `tenantChanged` after committing a
 * change; with a PostgreSQL server a NOTIFY carries it to every other replica (replicas keep
 * no state of their own; docs/operations.md, Caches). While that channel is down, changes made elsewhere could be missed, so the
 * caches are bypassed until it is back.
 */
export class CacheInvalidation {
  private readonly listeners: InvalidationListener[] = [];
  private broadcast: InvalidationBroadcast | null = null;
  private connected = true;
  private state: InvalidationChannelState = 'in-process';

  constructor(private readonly log?: Logger) {}

  onInvalidate(listener: InvalidationListener): void {
    this.listeners.push(listener);
  }

  /** From now on changes are also published to, and expected from, other processes. */
  attach(broadcast: InvalidationBroadcast): void {
    this.broadcast = broadcast;
  }

  /** Whether a cached fact may be served: false while other processes' changes could be missed. */
  get cachesUsable(): boolean {
    return this.connected;
  }

  get channelState(): InvalidationChannelState {
    return this.state;
  }

  /** The cross-process channel went down (everything cached is dropped) or came back. */
  setConnected(connected: boolean, state: InvalidationChannelState = connected ? 'listening' : 'lost'): void {
    if (!connected) this.invalidateLocally(null);
    this.connected = connected;
    this.state = state;
  }

  /** After a committed change: drops this process's copies and tells the other processes. */
  async tenantChanged(change: TenantChange): Promise<void> {
    this.invalidateLocally(change);
    if (!this.broadcast) return;
    try {
      await this.broadcast.publish(change);
    } catch (error) {
      // The change is committed; other replicas fall back on their caches' time limit.
      this.log?.error(
        { err: error, tenantId: change.tenantId },
        'could not notify other gateway processes of a change',
      );
    }
  }

  invalidateLocally(change: TenantChange | null): void {
    for (const listener of this.listeners) listener(change);
  }
}
