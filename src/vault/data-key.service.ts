import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { keyUnavailable } from '../common/errors';
import type { AuditKeyService } from './audit-key.service';
import { DataKeyCache } from './data-key-cache';
import { DataKeyEntity, type DataKeyTenant } from './data-key.entity';
import { KeyringError } from './keyring/keyring';
import type { Keyrings } from './keyring/keyrings';

export interface RewrapProgress {
  done: number;
  total: number;
}

/**
 * Tenant data keys: creation, unwrapping through the cache, rotation to a new version,
 * re-wrapping under the current master key, and destruction. Plaintext data keys never leave
 * the vault: callers get them only inside `withKey`'s synchronous callback.
 */
export class DataKeyService {
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    private readonly keyrings: Keyrings,
    readonly cache: DataKeyCache,
    private readonly log: Logger,
    /** When given, `rewrapAll` also moves the audit chains' keys (counted with the data keys). */
    private readonly auditKeys?: AuditKeyService,
  ) {}

  get currentKeyring(): string {
    return this.keyrings.current.kind;
  }

  /** Version 1 of a new tenant's data key; call inside the transaction that creates the tenant. */
  async createFirst(em: EntityManager, tenant: DataKeyTenant): Promise<DataKeyEntity> {
    return this.createVersion(em, tenant, 1);
  }

  /** A new data key version for the tenant (the caller re-encrypts credentials and commits). */
  async createNextVersion(
    em: EntityManager,
    tenant: DataKeyTenant & { readonly dataKeyVersion: number },
  ): Promise<DataKeyEntity> {
    return this.createVersion(em, tenant, tenant.dataKeyVersion + 1);
  }

  /** Lends the unwrapped data key to `use`; KEY_UNAVAILABLE if it cannot be unwrapped. */
  async withKey<T>(em: EntityManager, tenantId: string, version: number, use: (key: Buffer) => T): Promise<T> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const hit = this.cache.use(tenantId, version, use);
      if (hit) return hit.value;
      await this.load(em, tenantId, version);
    }
    throw keyUnavailable();
  }

  async keyringOf(em: EntityManager, tenantId: string, version: number): Promise<string> {
    const row = await em.findOne(DataKeyEntity, { tenant: tenantId, version }, { fields: ['keyring'] });
    return row?.keyring ?? this.keyrings.current.kind;
  }

  /** Marks every version but `activeVersion` retired. */
  async retireOlder(em: EntityManager, tenantId: string, activeVersion: number): Promise<void> {
    await em.nativeUpdate(
      DataKeyEntity,
      { tenant: tenantId, version: { $lt: activeVersion }, retiredAt: null },
      { retiredAt: new Date() },
    );
  }

  /** Crypto-shredding: the wrapped keys are deleted, so nothing encrypted under them can be read again. */
  async destroyTenantKeys(em: EntityManager, tenantId: string): Promise<number> {
    this.cache.forgetTenant(tenantId);
    return em.nativeDelete(DataKeyEntity, { tenant: tenantId });
  }

  forgetCached(tenantId: string): void {
    this.cache.forgetTenant(tenantId);
  }

  forgetAllCached(): void {
    this.cache.clear();
  }

  forgetVersion(tenantId: string, version: number): void {
    this.cache.forget(tenantId, version);
  }

  /** Keys (data keys, and audit chain keys) not yet under the current keyring and master key. */
  async countStale(em: EntityManager): Promise<number> {
    const auditChains = this.auditKeys ? await this.auditKeys.staleChains(em) : [];
    return (await this.staleIds(em)).length + auditChains.length;
  }

  /**
   * Re-wraps every stale data key (then every stale audit chain key) under the current keyring,
   * one row per statement so an
   * interrupted run keeps what it finished and a second run picks up the rest.
   */
  async rewrapAll(em: EntityManager, onProgress?: (progress: RewrapProgress) => void): Promise<number> {
    const ids = await this.staleIds(em);
    const auditChains = this.auditKeys ? await this.auditKeys.staleChains(em) : [];
    const total = ids.length + auditChains.length;
    let done = 0;
    for (const id of ids) {
      const row = await em.findOneOrFail(DataKeyEntity, { id }, { populate: ['tenant'] });
      const tenantId = row.tenant.id;
      const current = this.keyrings.current;
      const from = { wrapped: row.wrappedKey, masterKeyId: row.masterKeyId };
      // Through `guard`, like every other keyring call: a keyring that is down or refuses is
      // KEY_UNAVAILABLE (logged with the tenant), not an unexplained internal error.
      let rewrapped;
      if (row.keyring === current.kind) {
        rewrapped = await this.guard(tenantId, 'rewrap', () => current.rewrapDataKey(tenantId, from));
      } else {
        const plaintext = await this.guard(tenantId, 'unwrap', () =>
          this.keyrings.forKind(row.keyring).unwrapDataKey(tenantId, from),
        );
        try {
          rewrapped = await this.guard(tenantId, 'wrap', () => current.wrapDataKey(tenantId, plaintext));
        } finally {
          plaintext.fill(0);
        }
      }
      await em.nativeUpdate(
        DataKeyEntity,
        { id, masterKeyId: row.masterKeyId },
        {
          keyring: current.kind,
          masterKeyId: rewrapped.masterKeyId,
          wrappedKey: rewrapped.wrapped,
          rewrappedAt: new Date(),
        },
      );
      // Counted outside the optional call: `onProgress?.({ done: ++done })` skips the increment
      // when there is no callback (the GraphQL mutation passes none) and returned 0.
      done++;
      onProgress?.({ done, total });
    }
    for (const chain of auditChains) {
      await this.auditKeys!.rewrap(em, chain);
      done++;
      onProgress?.({ done, total });
    }
    return done;
  }

  private async staleIds(em: EntityManager): Promise<string[]> {
    const current = this.keyrings.current;
    const rows = await em.find(
      DataKeyEntity,
      { $or: [{ keyring: { $ne: current.kind } }, { masterKeyId: { $ne: current.masterKeyId } }] },
      { fields: ['id'], orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    return rows.map((row) => row.id);
  }

  private async createVersion(em: EntityManager, tenant: DataKeyTenant, version: number): Promise<DataKeyEntity> {
    const keyring = this.keyrings.current;
    const generated = await this.guard(tenant.id, 'generate', () => keyring.generateDataKey(tenant.id));
    const row = em.create(DataKeyEntity, {
      tenant,
      version,
      keyring: keyring.kind,
      masterKeyId: generated.masterKeyId,
      wrappedKey: generated.wrapped,
    });
    this.cache.put(tenant.id, version, generated.plaintext);
    return row;
  }

  /** Single flight: concurrent misses for one (tenant, version) make one keyring call. */
  private load(em: EntityManager, tenantId: string, version: number): Promise<void> {
    // Inside a transaction, never wait on another request's load: on a one-session database
    // (PGlite) that load may need the connection this transaction holds.
    if (em.isInTransaction()) return this.unwrapIntoCache(em, tenantId, version);
    const id = `${tenantId}:${version}`;
    let pending = this.inflight.get(id);
    if (!pending) {
      pending = this.unwrapIntoCache(em, tenantId, version).finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    return pending;
  }

  private async unwrapIntoCache(em: EntityManager, tenantId: string, version: number): Promise<void> {
    const row = await em.findOne(DataKeyEntity, { tenant: tenantId, version });
    if (!row) {
      this.log.warn({ tenantId, version }, 'data key missing (tenant deleted or never created)');
      throw keyUnavailable();
    }
    const key = await this.guard(tenantId, 'unwrap', () =>
      this.keyrings
        .forKind(row.keyring)
        .unwrapDataKey(tenantId, { wrapped: row.wrappedKey, masterKeyId: row.masterKeyId }),
    );
    this.cache.put(tenantId, version, key);
  }

  private async guard<T>(tenantId: string, operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof KeyringError) {
        this.log.error({ tenantId, operation, reason: error.reason, err: error.message }, 'keyring call failed');
        throw keyUnavailable();
      }
      throw error;
    }
  }
}
