import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { audited } from '../../audit/audited';
import type { AuditLog } from '../../audit/audit-log';
import type { CacheInvalidation } from '../../cache/cache-invalidation';
import type { Caller } from '../../auth/caller';
import type { CredentialVault } from '../../vault/credential-vault';
import type { DataKeyService } from '../../vault/data-key.service';
import { CredentialEntity } from '../credential/credential.entity';
import { credentialBinding } from '../credential/sealed-credential';
import { TenantEntity } from '../tenant/tenant.entity';

/** Operator actions on data keys, each audited. */
export class KeyManagementService {
  constructor(
    private readonly vault: CredentialVault,
    private readonly dataKeys: DataKeyService,
    private readonly audit: AuditLog,
    private readonly caches: CacheInvalidation,
  ) {}

  async rotate(caller: Caller): Promise<TenantEntity> {
    const tenantId = caller.principal.tenantId;
    return audited(
      this.audit,
      caller,
      { action: 'datakey.rotate', targetType: 'tenant', targetId: tenantId },
      async () => {
        const tenant = await this.rotateTenant(caller.em, tenantId);
        await this.caches.tenantChanged({ tenantId, dataKeys: true });
        return tenant;
      },
      (tenant) => ({ detail: { version: tenant.dataKeyVersion, keyring: this.dataKeys.currentKeyring } }),
    );
  }

  async rewrapAll(caller: Caller): Promise<number> {
    return audited(
      this.audit,
      caller,
      { action: 'datakey.rewrap', targetType: 'keyring', targetId: this.dataKeys.currentKeyring },
      () => this.dataKeys.rewrapAll(caller.em),
      (count) => ({ detail: { rewrapped: count } }),
    );
  }

  /**
   * New data-key version for the tenant; every credential re-encrypted under it; older versions
   * retired. One transaction: on any failure nothing changes. Older versions stay unwrappable
   * so reads that loaded a row before the commit still succeed.
   */
  private async rotateTenant(em: EntityManager, tenantId: string): Promise<TenantEntity> {
    let created: number | undefined;
    try {
      return await em.transactional(async (tx) => {
        const tenant = await tx.findOneOrFail(TenantEntity, { id: tenantId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        const next = await this.dataKeys.createNextVersion(tx, tenant);
        created = next.version;
        const rows = await tx.find(CredentialEntity, { tenant: tenantId });
        for (const row of rows) {
          row.ciphertext = await this.vault.reseal(
            tx,
            { binding: credentialBinding(row), ciphertext: row.ciphertext },
            next.version,
          );
          row.dataKeyVersion = next.version;
        }
        tenant.dataKeyVersion = next.version;
        await tx.flush();
        await this.dataKeys.retireOlder(tx, tenantId, next.version);
        return tenant;
      });
    } catch (error) {
      // The new version never committed: its cached key must not outlive it.
      if (created !== undefined) this.dataKeys.forgetVersion(tenantId, created);
      throw error;
    }
  }
}
