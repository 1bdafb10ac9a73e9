import type { CredentialBinding } from '../../vault/credential-cipher';
import type { SealedCredential } from '../../vault/credential-vault';
import type { CredentialEntity } from './credential.entity';

/** The row's identity as the vault binds it into the ciphertext (its associated data). */
export const credentialBinding = (row: CredentialEntity, dataKeyVersion = row.dataKeyVersion): CredentialBinding => ({
  tenantId: row.tenant.id,
  credentialId: row.id,
  provider: row.provider,
  scope: row.scope,
  ownerId: row.owner?.id ?? null,
  dataKeyVersion,
});

/** A detached copy of what a row holds for opening, safe to keep beyond its EntityManager. */
export const sealedCredential = (row: CredentialEntity): SealedCredential => ({
  binding: credentialBinding(row),
  ciphertext: Buffer.from(row.ciphertext),
});
