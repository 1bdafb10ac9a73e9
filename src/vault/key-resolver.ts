import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../auth/principal';
import { ErrorCode, KeywardError } from '../common/errors';
import { CredentialEntity } from '../modules/credential/credential.entity';
import { CredentialScope } from '../modules/credential/credential-scope';
import { KeySource, type ConcreteKeySource } from '../modules/credential/key-source';
import { Provider } from '../modules/credential/provider';
import type { TenantEntity } from '../modules/tenant/tenant.entity';
import type { TenantScopedCache } from '../cache/tenant-scoped-cache';
import { sealedCredential, type CredentialVault, type SealedCredential } from './credential-vault';

/** A key for one request: use `apiKey` for the upstream call and drop it when the request ends. */
export interface ResolvedKey {
  source: ConcreteKeySource;
  /** null for the platform key. */
  credentialId: string | null;
  dataKeyVersion: number | null;
  apiKey: string;
  /**
   * This use should be written to the credential's lastUsedAt (the last write this process
   * knows of is over a minute old); the chat records it with its usage.
   */
  lastUsedDue: boolean;
}

/** The operator's keys from the environment, per provider. */
export class PlatformKeys {
  constructor(private readonly keys: Partial<Record<Provider, string>>) {}

  has(provider: Provider): boolean {
    return Boolean(this.keys[provider]);
  }

  get(provider: Provider): string | undefined {
    return this.keys[provider];
  }
}

const missing = (code: ErrorCode, message: string) => new KeywardError(code, message);

/** lastUsedAt is for people; a write per request would double the database work of a chat. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** One stored key a caller could use, detached from the database session that loaded it. */
export interface StoredKey extends SealedCredential {
  readonly lastUsedAt: Date | null;
}

/** The caller's candidate keys for one provider: their own and their tenant's. */
export interface CallerKeys {
  personal: StoredKey | null;
  shared: StoredKey | null;
}

/** Cached per (tenant, user, provider); dropped when the tenant's credentials change. */
export type CallerKeyCache = TenantScopedCache<CallerKeys>;

/** What the resolver reads of a tenant's policy: the tenant's own switch and the operator's. */
export type PlatformKeyPolicy = Pick<TenantEntity, 'allowPlatformKey' | 'platformKeyEnabled'>;

/**
 * Picks the key for a request by key source (DESIGN.md "Picking the model and the key") and
 * opens it through the vault. Fails closed: a stored key that cannot be decrypted is
 * KEY_UNAVAILABLE, never a silent fall-back to another source.
 */
export class KeyResolver {
  /** When this process last wrote each credential's lastUsedAt (ms since the epoch). */
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly vault: CredentialVault,
    private readonly platform: PlatformKeys,
    private readonly callerKeys: CallerKeyCache,
  ) {}

  async resolve(
    em: EntityManager,
    principal: Principal,
    tenant: PlatformKeyPolicy,
    provider: Provider,
    requested: KeySource,
  ): Promise<ResolvedKey> {
    const { personal, shared } = await this.storedFor(em, principal, provider);
    switch (requested) {
      case KeySource.PERSONAL:
        if (!personal) throw missing(ErrorCode.PERSONAL_KEY_MISSING, `You have no personal ${provider} key`);
        return this.open(em, personal, KeySource.PERSONAL);
      case KeySource.TENANT:
        if (!shared) throw missing(ErrorCode.TENANT_KEY_MISSING, `Your tenant has no shared ${provider} key`);
        return this.open(em, shared, KeySource.TENANT);
      case KeySource.PLATFORM:
        if (!tenant.platformKeyEnabled) {
          throw missing(ErrorCode.PLATFORM_KEY_DISABLED, 'The operator has switched off the platform key for your tenant');
        }
        if (!tenant.allowPlatformKey) {
          throw missing(ErrorCode.PLATFORM_KEY_DISABLED, "Your tenant's policy does not allow the platform key");
        }
        return this.platformKey(provider);
      case KeySource.AUTO:
        if (personal) return this.open(em, personal, KeySource.PERSONAL);
        if (shared) return this.open(em, shared, KeySource.TENANT);
        if (this.platformAvailable(tenant, provider)) return this.platformKey(provider);
        throw missing(ErrorCode.NO_CREDENTIAL, `No ${provider} key is available to you (personal, tenant or platform)`);
    }
  }

  /** Which sources could serve `provider` for this caller right now, in AUTO's order. */
  async availableSources(
    em: EntityManager,
    principal: Principal,
    tenant: PlatformKeyPolicy,
    provider: Provider,
  ): Promise<ConcreteKeySource[]> {
    const { personal, shared } = await this.storedFor(em, principal, provider);
    const sources: ConcreteKeySource[] = [];
    if (personal) sources.push(KeySource.PERSONAL);
    if (shared) sources.push(KeySource.TENANT);
    if (this.platformAvailable(tenant, provider)) sources.push(KeySource.PLATFORM);
    return sources;
  }

  platformAvailable(tenant: PlatformKeyPolicy, provider: Provider): boolean {
    return tenant.platformKeyEnabled && tenant.allowPlatformKey && this.platform.has(provider);
  }

  private async storedFor(em: EntityManager, principal: Principal, provider: Provider): Promise<CallerKeys> {
    const keys = await this.callerKeys.get(`${principal.tenantId}:${principal.userId}:${provider}`, async () => {
      const rows = await em.find(CredentialEntity, {
        tenant: principal.tenantId,
        provider,
        $or: [{ scope: CredentialScope.TENANT }, { scope: CredentialScope.PERSONAL, owner: principal.userId }],
      });
      const stored = (scope: CredentialScope): StoredKey | null => {
        const row = rows.find((candidate) => candidate.scope === scope);
        return row ? { ...sealedCredential(row), lastUsedAt: row.lastUsedAt } : null;
      };
      return { tenantId: principal.tenantId, value: { personal: stored(CredentialScope.PERSONAL), shared: stored(CredentialScope.TENANT) } };
    });
    return keys!;
  }

  private async open(em: EntityManager, key: StoredKey, source: ConcreteKeySource): Promise<ResolvedKey> {
    const apiKey = await this.vault.open(em, key);
    const { credentialId, dataKeyVersion } = key.binding;
    const now = Date.now();
    const lastUsed = Math.max(key.lastUsedAt?.getTime() ?? 0, this.lastUsedWritten.get(credentialId) ?? 0);
    const lastUsedDue = now - lastUsed > LAST_USED_RESOLUTION_MS;
    if (lastUsedDue) this.rememberLastUsedWrite(credentialId, now);
    return { source, credentialId, dataKeyVersion, apiKey, lastUsedDue };
  }

  private rememberLastUsedWrite(credentialId: string, at: number): void {
    this.lastUsedWritten.delete(credentialId);
    this.lastUsedWritten.set(credentialId, at);
    // Entries older than the resolution say nothing any more; the oldest go first.
    for (const [id, written] of this.lastUsedWritten) {
      if (at - written <= LAST_USED_RESOLUTION_MS && this.lastUsedWritten.size <= 10_000) break;
      this.lastUsedWritten.delete(id);
    }
  }

  private platformKey(provider: Provider): ResolvedKey {
    const apiKey = this.platform.get(provider);
    if (!apiKey) throw missing(ErrorCode.NO_CREDENTIAL, `The operator has configured no platform ${provider} key`);
    return { source: KeySource.PLATFORM, credentialId: null, dataKeyVersion: null, apiKey, lastUsedDue: false };
  }
}
