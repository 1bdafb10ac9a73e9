// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- createKeyrings import()s this module
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  type KMSClientConfig,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { type GeneratedDataKey, type Keyring, KeyringError, type KeyPurpose, type WrappedDataKey } from './keyring';

export interface AwsKmsKeyringOptions {
  /** Key id, key ARN, alias name (`alias/...`) or alias ARN of the KMS key new wraps go under. */
  keyId: string;
  /** A ready client; when given, region, endpoint, maxAttempts and timeouts below are not used. */
  client?: KMSClient;
  region?: string;
  /** Only for a KMS-compatible endpoint; the SDK also honours AWS_ENDPOINT_URL_KMS by itself. */
  endpoint?: string;
  /** Attempts per KMS call including the first, with the SDK's standard retry backoff. Default 4. */
  maxAttempts?: number;
  /** Per attempt. Default 2000 ms. */
  connectionTimeoutMs?: number;
  /** Per attempt, request sent to response received. Default 5000 ms. */
  requestTimeoutMs?: number;
}

const DATA_KEY_BYTES = 32;
const DEFAULT_MAX_ATTEMPTS = 4;
const DEFAULT_CONNECTION_TIMEOUT_MS = 2_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/** KMS refused this key or this ciphertext: retrying will not help. */
const REJECTING_ERRORS = new Set([
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'NotFoundException',
  'DisabledException',
  'KMSInvalidStateException',
  'AccessDeniedException',
  'InvalidKeyUsageException',
]);

/**
 * Wraps tenant data keys (and audit chain keys) with AWS KMS. Every call carries the encryption
 * context `{ "keyward:tenant": <tenantId or chain>, "keyward:purpose": "data-key" | "audit-key" }`,
 * so KMS itself refuses a wrapped key presented for another tenant or another purpose.
 *
 * Create it with `AwsKmsKeyring.create()`: it asks KMS (DescribeKey, once) for the
 * key's ARN, so `masterKeyId` is the ARN KMS reports even when configured with an
 * alias or a bare key id.
 */
export class AwsKmsKeyring implements Keyring {
  readonly kind = 'aws-kms' as const;

  private constructor(
    private readonly client: KMSClient,
    private readonly ownsClient: boolean,
    readonly masterKeyId: string,
  ) {}

  static async create(options: AwsKmsKeyringOptions): Promise<AwsKmsKeyring> {
    const client = options.client ?? createKmsClient(options);
    try {
      const described = await callKms('DescribeKey', () =>
        client.send(new DescribeKeyCommand({ KeyId: options.keyId })),
      );
      const arn = described.KeyMetadata?.Arn;
      if (!arn) {
        throw new KeyringError('unavailable', 'KMS DescribeKey returned no key ARN');
      }
      return new AwsKmsKeyring(client, !options.client, arn);
    } catch (error) {
      if (!options.client) client.destroy();
      throw error;
    }
  }

  /** Releases the client's sockets if this keyring created the client (a given client is left alone). */
  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  async generateDataKey(tenantId: string, purpose: KeyPurpose = 'data-key'): Promise<GeneratedDataKey> {
    const response = await callKms('GenerateDataKey', () =>
      this.client.send(
        new GenerateDataKeyCommand({
          KeyId: this.masterKeyId,
          KeySpec: 'AES_256',
          EncryptionContext: dataKeyContext(tenantId, purpose),
        }),
      ),
    );
    const plaintext = takeDataKey(response.Plaintext, 'GenerateDataKey');
    return { plaintext, ...wrappedFrom(response, 'GenerateDataKey') };
  }

  async wrapDataKey(tenantId: string, plaintext: Buffer, purpose: KeyPurpose = 'data-key'): Promise<WrappedDataKey> {
    if (plaintext.length !== DATA_KEY_BYTES) {
      throw new RangeError(`A data key is ${DATA_KEY_BYTES} bytes, got ${plaintext.length}`);
    }
    const response = await callKms('Encrypt', () =>
      this.client.send(
        new EncryptCommand({
          KeyId: this.masterKeyId,
          Plaintext: plaintext,
          EncryptionContext: dataKeyContext(tenantId, purpose),
        }),
      ),
    );
    return wrappedFrom(response, 'Encrypt');
  }

  async unwrapDataKey(tenantId: string, wrapped: WrappedDataKey, purpose: KeyPurpose = 'data-key'): Promise<Buffer> {
    const response = await callKms('Decrypt', () =>
      this.client.send(
        new DecryptCommand({
          // Naming the key makes KMS refuse a blob produced under any other key.
          KeyId: wrapped.masterKeyId,
          CiphertextBlob: wrapped.wrapped,
          EncryptionContext: dataKeyContext(tenantId, purpose),
        }),
      ),
    );
    return takeDataKey(response.Plaintext, 'Decrypt');
  }

  /** Re-wraps under the current key inside KMS (ReEncrypt); a key already under it is returned as is. */
  async rewrapDataKey(
    tenantId: string,
    wrapped: WrappedDataKey,
    purpose: KeyPurpose = 'data-key',
  ): Promise<WrappedDataKey> {
    if (wrapped.masterKeyId === this.masterKeyId) {
      return wrapped;
    }
    const context = dataKeyContext(tenantId, purpose);
    const response = await callKms('ReEncrypt', () =>
      this.client.send(
        new ReEncryptCommand({
          CiphertextBlob: wrapped.wrapped,
          SourceKeyId: wrapped.masterKeyId,
          SourceEncryptionContext: context,
          DestinationKeyId: this.masterKeyId,
          DestinationEncryptionContext: context,
        }),
      ),
    );
    return wrappedFrom(response, 'ReEncrypt');
  }
}

/** A KMS client with the standard SDK configuration chain, bounded retries and fail-fast timeouts. */
export function createKmsClient(options: Omit<AwsKmsKeyringOptions, 'keyId' | 'client'> = {}): KMSClient {
  const config: KMSClientConfig = {
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      // Without this the SDK only logs a warning when requestTimeout is exceeded and keeps waiting.
      throwOnRequestTimeout: true,
    },
  };
  if (options.region) config.region = options.region;
  if (options.endpoint) config.endpoint = options.endpoint;
  return new KMSClient(config);
}

function dataKeyContext(tenantId: string, purpose: KeyPurpose): Record<string, string> {
  return { 'keyward:tenant': tenantId, 'keyward:purpose': purpose };
}

function wrappedFrom(response: { CiphertextBlob?: Uint8Array; KeyId?: string }, operation: string): WrappedDataKey {
  if (!response.CiphertextBlob?.length || !response.KeyId) {
    throw new KeyringError('unavailable', `KMS ${operation} returned no ciphertext or key id`);
  }
  return { wrapped: Buffer.from(response.CiphertextBlob), masterKeyId: response.KeyId };
}

/** Copies the SDK's plaintext into a buffer the caller owns and zero-fills the SDK's copy. */
function takeDataKey(plaintext: Uint8Array | undefined, operation: string): Buffer {
  if (!plaintext || plaintext.length !== DATA_KEY_BYTES) {
    plaintext?.fill(0);
    throw new KeyringError('rejected', `KMS ${operation} did not return a ${DATA_KEY_BYTES}-byte data key`);
  }
  const copy = Buffer.from(plaintext);
  plaintext.fill(0);
  return copy;
}

/** Runs one KMS call (the SDK retries it) and turns any failure into a KeyringError. */
async function callKms<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw toKeyringError(operation, error);
  }
}

/** The message names the operation and the error type only: never request data or key material. */
function toKeyringError(operation: string, error: unknown): KeyringError {
  const name = error instanceof Error ? error.name : 'UnknownError';
  if (REJECTING_ERRORS.has(name)) {
    return new KeyringError('rejected', `KMS ${operation} refused the request (${name})`);
  }
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' ? `${name}, ${code}` : name;
  return new KeyringError('unavailable', `KMS ${operation} failed (${detail})`);
}
