import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { keyUnavailable } from '../common/errors';
import { DecryptionFailedError } from './aes-gcm';
import { openCredential, sealCredential, type CredentialBinding } from './credential-cipher';
import type { DataKeyService } from './data-key.service';

/** A stored credential as the vault needs it: its identity (the associated data) and its ciphertext. */
export interface SealedCredential {
  readonly binding: CredentialBinding;
  readonly ciphertext: Buffer;
}

/**
 * Seals and opens credential ciphertexts. With DataKeyService it is the only code that ever
 * holds a plaintext provider key; everything else sees `last4` at most.
 */
export class CredentialVault {
  constructor(
    private readonly dataKeys: DataKeyService,
    private readonly log: Logger,
  ) {}

  /** Encrypts `apiKey` for the credential `binding` names, under the tenant's data key of `binding.dataKeyVersion`. */
  async seal(em: EntityManager, binding: CredentialBinding, apiKey: string): Promise<Buffer> {
    const plaintext = Buffer.from(apiKey, 'utf8');
    try {
      return await this.dataKeys.withKey(em, binding.tenantId, binding.dataKeyVersion, (key) =>
        sealCredential(key, plaintext, binding),
      );
    } finally {
      plaintext.fill(0);
    }
  }

  /** The plaintext key for one request. Any failure is KEY_UNAVAILABLE: never another key. */
  async open(em: EntityManager, { binding, ciphertext }: SealedCredential): Promise<string> {
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
   * Lends the plaintext key of a stored credential to `use` (a provider check) and returns what
   * `use` returns; the key is not kept. Decryption failures are KEY_UNAVAILABLE, as in `open`.
   */
  async lend<T>(em: EntityManager, sealed: SealedCredential, use: (apiKey: string) => Promise<T>): Promise<T> {
    return use(await this.open(em, sealed));
  }

  /**
   * For a data-key rotation: the credential re-encrypted under `toVersion` of its tenant's data
   * key. A credential that does not decrypt is KEY_UNAVAILABLE, which aborts the rotation.
   */
  async reseal(em: EntityManager, { binding, ciphertext }: SealedCredential, toVersion: number): Promise<Buffer> {
    const plaintext = await this.openForRotation(em, binding, ciphertext);
    try {
      return await this.dataKeys.withKey(em, binding.tenantId, toVersion, (key) =>
        sealCredential(key, plaintext, { ...binding, dataKeyVersion: toVersion }),
      );
    } finally {
      plaintext.fill(0);
    }
  }

  private async openForRotation(em: EntityManager, binding: CredentialBinding, ciphertext: Buffer): Promise<Buffer> {
    try {
      return await this.dataKeys.withKey(em, binding.tenantId, binding.dataKeyVersion, (key) =>
        openCredential(key, ciphertext, binding),
      );
    } catch (error) {
      if (error instanceof DecryptionFailedError) {
        this.log.error(
          { credentialId: binding.credentialId, tenantId: binding.tenantId, reason: error.reason },
          'credential failed to decrypt during rotation; the rotation was rolled back',
        );
        throw keyUnavailable('A credential of this tenant cannot be decrypted, so the data key was not rotated');
      }
      throw error;
    }
  }
}
