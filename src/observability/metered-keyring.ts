import type { GeneratedDataKey, Keyring, KeyPurpose, WrappedDataKey } from '../vault/keyring/keyring';
import type { Metrics } from './metrics';

/** Counts every call a keyring makes, by outcome, for /metrics (the KMS bill and its failures). */
export class MeteredKeyring implements Keyring {
  constructor(
    private readonly inner: Keyring,
    private readonly metrics: Metrics,
  ) {}

  get kind() {
    return this.inner.kind;
  }

  get masterKeyId() {
    return this.inner.masterKeyId;
  }

  generateDataKey(tenantId: string, purpose?: KeyPurpose): Promise<GeneratedDataKey> {
    return this.count('generate', () => this.inner.generateDataKey(tenantId, purpose));
  }

  wrapDataKey(tenantId: string, plaintext: Buffer, purpose?: KeyPurpose): Promise<WrappedDataKey> {
    return this.count('wrap', () => this.inner.wrapDataKey(tenantId, plaintext, purpose));
  }

  unwrapDataKey(tenantId: string, wrapped: WrappedDataKey, purpose?: KeyPurpose): Promise<Buffer> {
    return this.count('unwrap', () => this.inner.unwrapDataKey(tenantId, wrapped, purpose));
  }

  rewrapDataKey(tenantId: string, wrapped: WrappedDataKey, purpose?: KeyPurpose): Promise<WrappedDataKey> {
    return this.count('rewrap', () => this.inner.rewrapDataKey(tenantId, wrapped, purpose));
  }

  private async count<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      this.metrics.keyringCalls.inc({ keyring: this.inner.kind, operation, outcome: 'success' });
      return result;
    } catch (error) {
      this.metrics.keyringCalls.inc({ keyring: this.inner.kind, operation, outcome: 'error' });
      throw error;
    }
  }
}
