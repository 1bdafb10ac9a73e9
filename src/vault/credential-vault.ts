import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { keyUnavailable } from '../common/errors';
import { CredentialEntity } from '../modules/credential/credential.entity';
import { TenantEntity } from '../modules/tenant/tenant.entity';
import { DecryptionFailedError } from './aes-gcm';
import { openCredential, sealCredential, type CredentialBinding } from './credential-cipher';
import type { DataKeyService } from './data-key.service';

/** A stored credential as the vault needs it: its identity (the associated data) and its ciphertext. */
export interface SealedCredential {
  readonly binding: CredentialBinding;
  readonly ciphertext: Buffer;
}

const bindingOf = (row: CredentialEntity, dataKeyVersion = row.dataKeyVersion): CredentialBinding => ({
  tenantId: row.tenant.id,
  credentialId: row.id,
  provider: row.provider,
  scope: row.scope,
  ownerId: row.owner?.id ?? null,
  dataKeyVersion,
});

/** A detached copy of what a row holds for opening, safe to keep beyond its EntityManager. */
export const sealedCredential = (row: CredentialEntity): SealedCredential => ({
  binding: bindingOf(row),
  ciphertext: Buffer.from(row.ciphertext),
});

/**
 * Seals and opens credential ciphertexts. With DataKeyService it is the only code that ever
 * holds a plaintext provider key; everything else sees `last4` at most.
 */
export class CredentialVault {
  constructor(
    private readonly dataKeys: DataKeyService,
    private readonly log: Logger,
  ) {}

  /** Encrypts `apiKey` into `row` under the tenant's active data key (row identity as AAD). */
  async seal(em: EntityManager, row: CredentialEntity, apiKey: string, activeVersion: number): Promise<void> {
    const plaintext = Buffer.from(apiKey, 'utf8');
    try {
      row.ciphertext = await this.dataKeys.withKey(em, row.tenant.id, activeVersion, (key) =>
        sealCredential(key, plaintext, bindingOf(row, activeVersion)),
      );
      row.dataKeyVersion = activeVersion;
    } finally {
      plaintext.fill(0);
    }
  }

  /** The plaintext key for one request. Any failure is KEY_UNAVAILABLE: never another key. */
  async open(em: EntityManager, row: CredentialEntity | SealedCredential): Promise<string> {
    const { binding, ciphertext } = row instanceof CredentialEntity ? sealedCredential(row) : row;
    try {
      const plaintext = await this.dataKeys.withKey(em, binding.tenantId, binding.dataKeyVersion, (key) =>
        openCredential(key, ciphertext, binding),
      );
      try {
        return plaintext.toString('utf8');
      } finally {
        plaintext.fill(0);
      }
    } catch (error) {
      if (error instanceof DecryptionFailedError) {
        this.log.error(
          { credentialId: binding.credentialId, tenantId: binding.tenantId, reason: error.reason },
          'credential failed to decrypt',
        );
        throw keyUnavailable();
      }
      throw error;
    }
  }

  /**
   * Lends the plaintext key of `row` to `use` (a provider check) and returns what `use` returns;
   * the key is not kept. Decryption failures are KEY_UNAVAILABLE, as in `open`.
   */
  async lend<T>(em: EntityManager, row: CredentialEntity, use: (apiKey: string) => Promise<T>): Promise<T> {
    return use(await this.open(em, row));
  }

  /**
   * New data-key version for the tenant; every credential re-encrypted under it; older versions
   * retired. One transaction: on any failure nothing changes. Older versions stay unwrappable
   * so reads that loaded a row before the commit still succeed.
   */
  async rotateTenant(em: EntityManager, tenantId: string): Promise<TenantEntity> {
    let created: number | undefined;
    try {
      return await em.transactional(async (tx) => {
      const tenant = await tx.findOneOrFail(TenantEntity, { id: tenantId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const next = await this.dataKeys.createNextVersion(tx, tenant);
      created = next.version;
      const rows = await tx.find(CredentialEntity, { tenant: tenantId });
      for (const row of rows) {
        const plaintext = await this.openForRotation(tx, row);
        try {
          row.ciphertext = await this.dataKeys.withKey(tx, tenantId, next.version, (key) =>
            sealCredential(key, plaintext, bindingOf(row, next.version)),
          );
          row.dataKeyVersion = next.version;
        } finally {
          plaintext.fill(0);
        }
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

  /** Like `open`, inside the rotation's transaction: a credential that does not decrypt aborts it with KEY_UNAVAILABLE. */
  private async openForRotation(tx: EntityManager, row: CredentialEntity): Promise<Buffer> {
    try {
      return await this.dataKeys.withKey(tx, row.tenant.id, row.dataKeyVersion, (key) =>
        openCredential(key, row.ciphertext, bindingOf(row)),
      );
    } catch (error) {
      if (error instanceof DecryptionFailedError) {
        this.log.error(
          { credentialId: row.id, tenantId: row.tenant.id, reason: error.reason },
          'credential failed to decrypt during rotation; the rotation was rolled back',
        );
        throw keyUnavailable('A credential of this tenant cannot be decrypted, so the data key was not rotated');
      }
      throw error;
    }
  }
}
