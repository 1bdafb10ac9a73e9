/**
 * A keyring wraps and unwraps tenant data keys under a master key it never reveals.
 * Every wrap is bound to the tenant: a wrapped key presented for another tenant fails.
 */
export type KeyringKind = 'aws-kms' | 'local';

/**
 * What a wrapped key is for; bound into every wrap (KMS EncryptionContext, local AAD), so a key
 * wrapped for one purpose never unwraps as the other. `data-key`: a tenant data key (the subject
 * is the tenant id). `audit-key`: the MAC key of an audit chain (the subject is the chain name).
 */
export type KeyPurpose = 'data-key' | 'audit-key';

export interface WrappedDataKey {
  wrapped: Buffer;
  /** Identifies the master key that wrapped it (KMS key ARN, or a local key fingerprint). */
  masterKeyId: string;
}

export interface GeneratedDataKey extends WrappedDataKey {
  /** 32 random bytes. The caller owns this buffer and must zero-fill it when done. */
  plaintext: Buffer;
}

export interface Keyring {
  readonly kind: KeyringKind;
  /** The master key new wraps go under. */
  readonly masterKeyId: string;
  // `purpose` defaults to 'data-key'; a decorator must pass it on unchanged.
  generateDataKey(tenantId: string, purpose?: KeyPurpose): Promise<GeneratedDataKey>;
  wrapDataKey(tenantId: string, plaintext: Buffer, purpose?: KeyPurpose): Promise<WrappedDataKey>;
  unwrapDataKey(tenantId: string, wrapped: WrappedDataKey, purpose?: KeyPurpose): Promise<Buffer>;
  /** Moves a key wrapped by this keyring kind under the current master key without exposing it where possible. */
  rewrapDataKey(tenantId: string, wrapped: WrappedDataKey, purpose?: KeyPurpose): Promise<WrappedDataKey>;
}

/**
 * `unavailable`: the keyring could not be reached or kept failing (retry later).
 * `rejected`: the keyring refused the key (wrong tenant binding, tampered, unknown master key).
 */
export class KeyringError extends Error {
  constructor(
    readonly reason: 'unavailable' | 'rejected',
    message: string,
  ) {
    super(message);
    this.name = 'KeyringError';
  }
}
