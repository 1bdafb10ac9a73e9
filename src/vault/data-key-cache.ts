export interface DataKeyCacheOptions {
  maxAgeMs: number;
  maxUses: number;
  /** Bound on distinct (tenant, version) entries; the least recently used goes first. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  key: Buffer;
  expiresAt: number;
  usesLeft: number;
}

export interface DataKeyCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  size: number;
}

/**
 * Unwrapped tenant data keys, per (tenant, version), each kept for a bounded time and number of
 * uses and zero-filled when it leaves. Keys are lent to a synchronous callback only, so no
 * caller can hold a buffer across an await while it is evicted and wiped.
 */
export class DataKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(private readonly options: DataKeyCacheOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Runs `use` with the cached key and counts one use; undefined (a miss) if absent or spent. */
  use<T>(tenantId: string, version: number, use: (key: Buffer) => T): { value: T } | undefined {
    const id = cacheId(tenantId, version);
    const entry = this.entries.get(id);
    if (!entry || entry.expiresAt <= this.now() || entry.usesLeft <= 0) {
      if (entry) this.evict(id);
      this.misses++;
      return undefined;
    }
    this.hits++;
    entry.usesLeft--;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return { value: use(entry.key) };
  }

  /** Takes ownership of `key`: the cache wipes it when the entry leaves. */
  put(tenantId: string, version: number, key: Buffer): void {
    const id = cacheId(tenantId, version);
    if (this.entries.has(id)) this.evict(id);
    this.entries.set(id, { key, expiresAt: this.now() + this.options.maxAgeMs, usesLeft: this.options.maxUses });
    while (this.entries.size > this.maxEntries) this.evict(this.entries.keys().next().value as string);
  }

  forget(tenantId: string, version: number): void {
    this.evict(cacheId(tenantId, version));
  }

  forgetTenant(tenantId: string): void {
    for (const id of [...this.entries.keys()]) if (id.startsWith(`${tenantId}:`)) this.evict(id);
  }

  clear(): void {
    for (const id of [...this.entries.keys()]) this.evict(id);
  }

  stats(): DataKeyCacheStats {
    return { hits: this.hits, misses: this.misses, evictions: this.evictions, size: this.entries.size };
  }

  private evict(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.key.fill(0);
    this.entries.delete(id);
    this.evictions++;
  }
}

const cacheId = (tenantId: string, version: number): string => `${tenantId}:${version}`;
