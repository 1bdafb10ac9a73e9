import { audited } from '../../audit/audited';
import type { AuditLog } from '../../audit/audit-log';
import type { CacheInvalidation } from '../../cache/cache-invalidation';
import type { Caller } from '../../server/context';
import type { CredentialVault } from '../../vault/credential-vault';
import type { DataKeyService } from '../../vault/data-key.service';
import type { TenantEntity } from '../tenant/tenant.entity';

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
        const tenant = await this.vault.rotateTenant(caller.em, tenantId);
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
}
