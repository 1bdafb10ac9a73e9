import {
  KeyringError,
  type GeneratedDataKey,
  type Keyring,
  type KeyringKind,
  type KeyPurpose,
  type WrappedDataKey,
} from '../../src/vault/keyring/keyring';

export type KeyringOperation = 'generate' | 'wrap' | 'unwrap' | 'rewrap';

/**
 * Wraps a real keyring (local or aws-kms), counts its calls, and can make chosen operations fail
 * the way an unreachable keyring does (KeyringError 'unavailable'). Every call that is not
 * failed goes to the real keyring unchanged.
 */
export class InstrumentedKeyring implements Keyring {
  readonly calls: Record<KeyringOperation, number> = { generate: 0, wrap: 0, unwrap: 0, rewrap: 0 };
  /** Operations that currently fail without reaching the real keyring. */
  readonly failing = new Set<KeyringOperation>();
  /** Called after each successful call with the number of successful calls of that operation so far. */
  onSuccess?: (operation: KeyringOperation, successes: number) => void;
  private readonly successes: Record<KeyringOperation, number> = { generate: 0, wrap: 0, unwrap: 0, rewrap: 0 };

  constructor(readonly inner: Keyring) {}

  get kind(): KeyringKind {
    return this.inner.kind;
  }

  get masterKeyId(): string {
    return this.inner.masterKeyId;
  }

  resetCounts(): void {
    for (const op of Object.keys(this.calls) as KeyringOperation[]) {
      this.calls[op] = 0;
      this.successes[op] = 0;
    }
  }

  generateDataKey(tenantId: string, purpose?: KeyPurpose): Promise<GeneratedDataKey> {
    return this.run('generate', () => this.inner.generateDataKey(tenantId, purpose));
  }

  wrapDataKey(tenantId: string, plaintext: Buffer, purpose?: KeyPurpose): Promise<WrappedDataKey> {
    return this.run('wrap', () => this.inner.wrapDataKey(tenantId, plaintext, purpose));
  }

  unwrapDataKey(tenantId: string, wrapped: WrappedDataKey, purpose?: KeyPurpose): Promise<Buffer> {
    return this.run('unwrap', () => this.inner.unwrapDataKey(tenantId, wrapped, purpose));
  }

  rewrapDataKey(tenantId: string, wrapped: WrappedDataKey, purpose?: KeyPurpose): Promise<WrappedDataKey> {
    return this.run('rewrap', () => this.inner.rewrapDataKey(tenantId, wrapped, purpose));
  }

  private async run<T>(operation: KeyringOperation, call: () => Promise<T>): Promise<T> {
    this.calls[operation]++;
    if (this.failing.has(operation)) throw new KeyringError('unavailable', `injected ${operation} failure`);
    const result = await call();
    this.onSuccess?.(operation, ++this.successes[operation]);
    return result;
  }
}

/**
 * Dummy static credentials for the AWS SDK's default chain (the local KMS server checks only
 * that a request is signed), with nothing from the developer's own AWS setup leaking in.
 * Returns a function that restores the environment.
 */
export function useTestAwsCredentials(): () => void {
  const saved = { ...process.env };
  process.env.AWS_ACCESS_KEY_ID = 'AKIDKEYWARDTEST';
  process.env.AWS_SECRET_ACCESS_KEY = 'keyward-test-only-secret';
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_ENDPOINT_URL_KMS;
  return () => {
    process.env = saved;
  };
}
