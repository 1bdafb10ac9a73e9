/**
 * A keyring wraps and unwraps tenant data keys under a master key it never reveals.
 * Every wrap is bound to the tenant: a wrapped key presented for another tenant fails.
 */
export type KeyringKind = 'aws-kms' | 'local';

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
  generateDataKey(tenantId: string): Promise<GeneratedDataKey>;
  wrapDataKey(tenantId: string, plaintext: Buffer): Promise<WrappedDataKey>;
  unwrapDataKey(tenantId: string, wrapped: WrappedDataKey): Promise<Buffer>;
  /** Moves a key wrapped by this keyring kind under the current master key without exposing it where possible. */
  rewrapDataKey(tenantId: string, wrapped: WrappedDataKey): Promise<WrappedDataKey>;
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
