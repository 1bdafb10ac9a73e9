import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../../auth/principal';
import { ErrorCode, KeywardError } from '../../common/errors';
import type { TenantScopedCache } from '../../cache/tenant-scoped-cache';
import type { CredentialVault, SealedCredential } from '../../vault/credential-vault';
import { CredentialEntity } from './credential.entity';
import { CredentialScope } from './credential-scope';
import {
  availableKeySources,
  chooseKeySource,
  platformKeyAvailable,
  type KeyFacts,
  type PlatformKeyPolicy,
} from './key-selection-rules';
import { KeySource, type ConcreteKeySource } from './key-source';
import { sealedCredential } from './sealed-credential';
import type { PlatformKeys } from './platform-keys';
import type { Provider } from './provider';
import type { EntityManagerSource } from '../../db/fork-on-use';
import { LastUseClaims } from '../../common/last-use-claims';

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

/**
 * Picks the key for a request (the rules are in key-selection-rules.ts) from the caller's stored
 * credentials, cached per caller, and opens it through the vault. Fails closed: a stored key
 * that cannot be decrypted is KEY_UNAVAILABLE, never a silent fall-back to another source.
 */
export class KeySelector {
  /** lastUsedAt is for people; a write per request would double the database work of a chat. */
  private readonly lastUse = new LastUseClaims();

  constructor(
    private readonly vault: CredentialVault,
    private readonly platform: PlatformKeys,
    private readonly callerKeys: CallerKeyCache,
  ) {}

  async resolve(
    scope: EntityManagerSource,
    principal: Principal,
    tenant: PlatformKeyPolicy,
    provider: Provider,
    requested: KeySource,
  ): Promise<ResolvedKey> {
    const stored = await this.storedFor(scope, principal, provider);
    const choice = chooseKeySource(requested, this.facts(stored, tenant, provider));
    if ('refused' in choice) throw new KeywardError(choice.refused, choice.message);
    switch (choice.source) {
      case KeySource.PERSONAL:
        return this.open(scope.em, stored.personal!, KeySource.PERSONAL);
      case KeySource.TENANT:
        return this.open(scope.em, stored.shared!, KeySource.TENANT);
      case KeySource.PLATFORM:
        return this.platformKey(provider);
    }
  }

  /** Which sources could serve `provider` for this caller right now, in AUTO's order. */
  async availableSources(
    em: EntityManager,
    principal: Principal,
    tenant: PlatformKeyPolicy,
    provider: Provider,
  ): Promise<ConcreteKeySource[]> {
    return availableKeySources(this.facts(await this.storedFor({ em }, principal, provider), tenant, provider));
  }

  platformAvailable(tenant: PlatformKeyPolicy, provider: Provider): boolean {
    return platformKeyAvailable({ tenant, platformConfigured: this.platform.has(provider) });
  }

  private facts({ personal, shared }: CallerKeys, tenant: PlatformKeyPolicy, provider: Provider): KeyFacts {
    return {
      provider,
      hasPersonal: personal !== null,
      hasTenant: shared !== null,
      tenant,
      platformConfigured: this.platform.has(provider),
    };
  }

  private async storedFor(scope: EntityManagerSource, principal: Principal, provider: Provider): Promise<CallerKeys> {
    const keys = await this.callerKeys.get(`${principal.tenantId}:${principal.userId}:${provider}`, async () => {
      const rows = await scope.em.find(CredentialEntity, {
        tenant: principal.tenantId,
        provider,
        $or: [{ scope: CredentialScope.TENANT }, { scope: CredentialScope.PERSONAL, owner: principal.userId }],
      });
      const stored = (scope: CredentialScope): StoredKey | null => {
        const row = rows.find((candidate) => candidate.scope === scope);
        return row ? { ...sealedCredential(row), lastUsedAt: row.lastUsedAt } : null;
      };
      return {
        tenantId: principal.tenantId,
        value: { personal: stored(CredentialScope.PERSONAL), shared: stored(CredentialScope.TENANT) },
      };
    });
    return keys!;
  }

  private async open(em: EntityManager, key: StoredKey, source: ConcreteKeySource): Promise<ResolvedKey> {
    const apiKey = await this.vault.open(em, key);
    const { credentialId, dataKeyVersion } = key.binding;
    const lastUsedDue = this.lastUse.claim(credentialId, key.lastUsedAt, Date.now());
    return { source, credentialId, dataKeyVersion, apiKey, lastUsedDue };
  }

  private platformKey(provider: Provider): ResolvedKey {
    const apiKey = this.platform.get(provider);
    if (!apiKey)
      throw new KeywardError(ErrorCode.NO_CREDENTIAL, `The operator has configured no platform ${provider} key`);
    return { source: KeySource.PLATFORM, credentialId: null, dataKeyVersion: null, apiKey, lastUsedDue: false };
  }
}
