import { randomBytes } from 'node:crypto';
import { type EncryptionContext, type KmsKey, KmsKeyStore, KmsProtocolError, KMS_TEST_ACCOUNT_ID } from './key-store';

export type KmsRequestBody = Record<string, unknown>;
export type KmsResponseBody = Record<string, unknown>;
type OperationHandler = (store: KmsKeyStore, body: KmsRequestBody) => KmsResponseBody;

const ALGORITHM = 'SYMMETRIC_DEFAULT';
const MAX_PLAINTEXT_BYTES = 4096;

/** The TrentService operations the fake KMS answers, by the name in `X-Amz-Target`. */
export const kmsOperations: Readonly<Record<string, OperationHandler>> = {
  CreateKey(store, body) {
    const keyUsage = optionalString(body, 'KeyUsage') ?? 'ENCRYPT_DECRYPT';
    const keySpec = optionalString(body, 'KeySpec') ?? ALGORITHM;
    if (keyUsage !== 'ENCRYPT_DECRYPT' || keySpec !== ALGORITHM) {
      throw new KmsProtocolError(
        'UnsupportedOperationException',
        'This test KMS only creates symmetric encryption keys.',
      );
    }
    return { KeyMetadata: keyMetadata(store.createKey(optionalString(body, 'Description'))) };
  },

  DescribeKey(store, body) {
    return { KeyMetadata: keyMetadata(store.resolve(optionalString(body, 'KeyId'))) };
  },

  CreateAlias(store, body) {
    store.createAlias(requiredString(body, 'AliasName'), requiredString(body, 'TargetKeyId'));
    return {};
  },

  EnableKey(store, body) {
    store.resolve(optionalString(body, 'KeyId')).enabled = true;
    return {};
  },

  DisableKey(store, body) {
    store.resolve(optionalString(body, 'KeyId')).enabled = false;
    return {};
  },

  GenerateDataKey(store, body) {
    const key = store.resolveUsable(optionalString(body, 'KeyId'));
    const plaintext = randomDataKey(body);
    const blob = store.encrypt(key, plaintext, encryptionContext(body, 'EncryptionContext'));
    return { KeyId: key.arn, Plaintext: base64AndWipe(plaintext), CiphertextBlob: base64(blob) };
  },

  GenerateDataKeyWithoutPlaintext(store, body) {
    const key = store.resolveUsable(optionalString(body, 'KeyId'));
    const dataKey = randomDataKey(body);
    const blob = store.encrypt(key, dataKey, encryptionContext(body, 'EncryptionContext'));
    dataKey.fill(0);
    return { KeyId: key.arn, CiphertextBlob: base64(blob) };
  },

  Encrypt(store, body) {
    const key = store.resolveUsable(optionalString(body, 'KeyId'));
    assertSymmetricAlgorithm(body, 'EncryptionAlgorithm');
    const plaintext = requiredBlob(body, 'Plaintext');
    if (plaintext.length < 1 || plaintext.length > MAX_PLAINTEXT_BYTES) {
      throw new KmsProtocolError(
        'ValidationException',
        `Plaintext must be between 1 and ${MAX_PLAINTEXT_BYTES} bytes.`,
      );
    }
    const blob = store.encrypt(key, plaintext, encryptionContext(body, 'EncryptionContext'));
    plaintext.fill(0);
    return { KeyId: key.arn, CiphertextBlob: base64(blob), EncryptionAlgorithm: ALGORITHM };
  },

  Decrypt(store, body) {
    assertSymmetricAlgorithm(body, 'EncryptionAlgorithm');
    const { key, plaintext } = decryptForKey(store, body, 'KeyId', 'EncryptionContext');
    return { KeyId: key.arn, Plaintext: base64AndWipe(plaintext), EncryptionAlgorithm: ALGORITHM };
  },

  ReEncrypt(store, body) {
    assertSymmetricAlgorithm(body, 'SourceEncryptionAlgorithm');
    assertSymmetricAlgorithm(body, 'DestinationEncryptionAlgorithm');
    const destination = store.resolveUsable(requiredString(body, 'DestinationKeyId'));
    const source = decryptForKey(store, body, 'SourceKeyId', 'SourceEncryptionContext');
    const blob = store.encrypt(destination, source.plaintext, encryptionContext(body, 'DestinationEncryptionContext'));
    source.plaintext.fill(0);
    return {
      CiphertextBlob: base64(blob),
      SourceKeyId: source.key.arn,
      KeyId: destination.arn,
      SourceEncryptionAlgorithm: ALGORITHM,
      DestinationEncryptionAlgorithm: ALGORITHM,
    };
  },
};

/** Decrypts `CiphertextBlob`; when the caller names a key, the blob must be from that key. */
function decryptForKey(store: KmsKeyStore, body: KmsRequestBody, keyIdField: string, contextField: string) {
  const expectedKeyId = optionalString(body, keyIdField);
  const expectedKey = expectedKeyId === undefined ? undefined : store.resolve(expectedKeyId);
  const result = store.decrypt(requiredBlob(body, 'CiphertextBlob'), encryptionContext(body, contextField));
  if (expectedKey && expectedKey.id !== result.key.id) {
    result.plaintext.fill(0);
    throw new KmsProtocolError(
      'IncorrectKeyException',
      'The key ID in the request does not identify a KMS key that can perform this operation.',
    );
  }
  return result;
}

function randomDataKey(body: KmsRequestBody): Buffer {
  const keySpec = optionalString(body, 'KeySpec');
  const numberOfBytes = body.NumberOfBytes;
  if ((keySpec === undefined) === (numberOfBytes === undefined)) {
    throw new KmsProtocolError('ValidationException', 'Specify either KeySpec or NumberOfBytes, but not both.');
  }
  if (keySpec !== undefined) {
    const lengths: Record<string, number> = { AES_256: 32, AES_128: 16 };
    const length = lengths[keySpec];
    if (length === undefined) {
      throw new KmsProtocolError('ValidationException', `KeySpec ${keySpec} is not supported.`);
    }
    return randomBytes(length);
  }
  if (
    typeof numberOfBytes !== 'number' ||
    !Number.isInteger(numberOfBytes) ||
    numberOfBytes < 1 ||
    numberOfBytes > 1024
  ) {
    throw new KmsProtocolError('ValidationException', 'NumberOfBytes must be an integer between 1 and 1024.');
  }
  return randomBytes(numberOfBytes);
}

function keyMetadata(key: KmsKey): KmsResponseBody {
  return {
    AWSAccountId: KMS_TEST_ACCOUNT_ID,
    KeyId: key.id,
    Arn: key.arn,
    CreationDate: key.createdAt.getTime() / 1000,
    Enabled: key.enabled,
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: key.enabled ? 'Enabled' : 'Disabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: ALGORITHM,
    KeySpec: ALGORITHM,
    EncryptionAlgorithms: [ALGORITHM],
    MultiRegion: false,
  };
}

function assertSymmetricAlgorithm(body: KmsRequestBody, field: string): void {
  const algorithm = optionalString(body, field);
  if (algorithm !== undefined && algorithm !== ALGORITHM) {
    throw new KmsProtocolError(
      'InvalidKeyUsageException',
      `${field} ${algorithm} is not supported by a symmetric key.`,
    );
  }
}

function encryptionContext(body: KmsRequestBody, field: string): EncryptionContext | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new KmsProtocolError('SerializationException', `${field} must be a map of strings.`);
  }
  return value as EncryptionContext;
}

function optionalString(body: KmsRequestBody, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new KmsProtocolError('SerializationException', `${field} must be a string.`);
  }
  return value;
}

function requiredString(body: KmsRequestBody, field: string): string {
  const value = optionalString(body, field);
  if (!value) {
    throw new KmsProtocolError(
      'ValidationException',
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function requiredBlob(body: KmsRequestBody, field: string): Buffer {
  const value = requiredString(body, field);
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    throw new KmsProtocolError('SerializationException', `${field} is not valid base64.`);
  }
  return Buffer.from(value, 'base64');
}

function base64(bytes: Buffer): string {
  return bytes.toString('base64');
}

function base64AndWipe(secret: Buffer): string {
  const encoded = secret.toString('base64');
  secret.fill(0);
  return encoded;
}
