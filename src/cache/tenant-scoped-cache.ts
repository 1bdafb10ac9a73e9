import { LRUCache } from 'lru-cache';
import type { CacheInvalidation, TenantChange } from './cache-invalidation';

export interface TenantScopedCacheOptions {
  /** Entries kept at most; the least recently used go first. */
  maxEntries: number;
  /** An entry is reloaded after this long even if no change was announced. 0 disables the cache. */
  ttlMs: number;
}

/** What a loader found, and the tenant it belongs to; with no tenant it is returned but not kept. */
export interface Loaded<V> {
  value: V | null;
  tenantId: string | null;
}

interface Entry<V> {
  tenantId: string;
  value: V;
}

/**
 * A read-through cache of facts loaded from the database, each belonging to one tenant and
 * dropped when that tenant changes. A load that was running while a change to its tenant (or to
 * everything) was announced is returned to its caller but not kept: it may have read the rows
 * from before the change. Changes to other tenants do not concern it.
 */
export class TenantScopedCache<V extends object> {
  private readonly entries: LRUCache<string, Entry<V>> | null;
  /** Loads under way, by key; a change drops them, so a later read cannot join one that may predate it. */
  private readonly loading = new Map<string, Promise<V | null>>();
  /** Changes announced so far; a load notes the count when it starts. */
  private changes = 0;
  /** When (in `changes`) everything, or each tenant, last changed; only needed while a load runs. */
  private everythingChangedAt = 0;
  private readonly tenantChangedAt = new Map<string, number>();
  private loadsRunning = 0;

  constructor(
    private readonly invalidation: CacheInvalidation,
    options: TenantScopedCacheOptions,
  ) {
    this.entries = options.ttlMs > 0 ? new LRUCache({ max: options.maxEntries, ttl: options.ttlMs }) : null;
    invalidation.onInvalidate((change) => this.drop(change));
  }

  /**
   * The cached value, or the loader's. Concurrent reads of a key that is not cached share one
   * load: when an entry expires under load, its requests wait for one query instead of each
   * sending its own (and queueing for the pool's connections behind the others).
   */
  async get(key: string, load: () => Promise<Loaded<V>>): Promise<V | null> {
    if (this.entries === null || !this.invalidation.cachesUsable) return (await load()).value;
    const hit = this.entries.get(key);
    if (hit) return hit.value;
    const joined = this.loading.get(key);
    if (joined) return joined;
    const started = this.loadAndKeep(key, load);
    this.loading.set(key, started);
    const settled = () => {
      if (this.loading.get(key) === started) this.loading.delete(key);
    };
    started.then(settled, settled);
    return started;
  }

  private async loadAndKeep(key: string, load: () => Promise<Loaded<V>>): Promise<V | null> {
    const startedAt = this.changes;
    this.loadsRunning++;
    try {
      const { value, tenantId } = await load();
      if (value && tenantId && !this.changedSince(tenantId, startedAt) && this.invalidation.cachesUsable) {
        this.entries!.set(key, { tenantId, value });
      }
      return value;
    } finally {
      // No load left to ask what changed since it started: forget (keeps the map bounded).
      if (--this.loadsRunning === 0) this.tenantChangedAt.clear();
    }
  }

  private changedSince(tenantId: string, count: number): boolean {
    return this.everythingChangedAt > count || (this.tenantChangedAt.get(tenantId) ?? 0) > count;
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }

  private drop(change: TenantChange | null): void {
    this.changes++;
    if (change) {
      if (this.loadsRunning > 0) this.tenantChangedAt.set(change.tenantId, this.changes);
    } else this.everythingChangedAt = this.changes;
    // A load's tenant is known only when it ends, so no load under way may be joined any more.
    this.loading.clear();
    if (!this.entries) return;
    if (!change) return this.entries.clear();
    const stale = [...this.entries.entries()].filter(([, entry]) => entry.tenantId === change.tenantId);
    for (const [key] of stale) this.entries.delete(key);
  }
}
