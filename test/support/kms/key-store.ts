import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';

export const KMS_TEST_ACCOUNT_ID = '111122223333';

/** A KMS error as the JSON protocol reports it: `{"__type": type, "message": message}` with `status`. */
export class KmsProtocolError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export type EncryptionContext = Record<string, string>;

export interface KmsKey {
  readonly id: string;
  readonly arn: string;
  readonly description: string;
  readonly createdAt: Date;
  enabled: boolean;
  /** Key material never leaves the process and is never logged. */
  readonly material: Buffer;
}

/**
 * Ciphertext blob layout (opaque to clients, self-describing like real KMS):
 *   format (1) | key id as raw UUID bytes (16) | IV (12) | GCM tag (16) | ciphertext
 * The header and the canonical encryption context are the GCM associated data, so
 * a changed byte anywhere or a different context fails authentication.
 */
const BLOB_FORMAT = 0x01;
const KEY_ID_LENGTH = 16;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const HEADER_LENGTH = 1 + KEY_ID_LENGTH;
const MIN_BLOB_LENGTH = HEADER_LENGTH + IV_LENGTH + TAG_LENGTH + 1;

/** Keys, aliases and the ciphertext format of the fake KMS. Holds everything in memory. */
export class KmsKeyStore {
  private readonly keysById = new Map<string, KmsKey>();
  private readonly aliases = new Map<string, string>();

  constructor(readonly region: string) {}

  createKey(description = ''): KmsKey {
    const id = randomUUID();
    const key: KmsKey = {
      id,
      arn: `arn:aws:kms:${this.region}:${KMS_TEST_ACCOUNT_ID}:key/${id}`,
      description,
      createdAt: new Date(),
      enabled: true,
      material: randomBytes(32),
    };
    this.keysById.set(id, key);
    return key;
  }

  createAlias(aliasName: string, targetKeyId: string): void {
    if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(aliasName) || aliasName.startsWith('alias/aws/')) {
      throw new KmsProtocolError('ValidationException', `Alias ${aliasName} is not a valid alias name.`);
    }
    if (this.aliases.has(aliasName)) {
      throw new KmsProtocolError(
        'AlreadyExistsException',
        `An alias with the name ${this.aliasArn(aliasName)} already exists`,
      );
    }
    this.aliases.set(aliasName, this.resolve(targetKeyId).id);
  }

  /** Accepts a key id, a key ARN, `alias/<name>` or an alias ARN, like KMS does. */
  resolve(keyIdentifier: string | undefined): KmsKey {
    if (!keyIdentifier) {
      throw new KmsProtocolError('ValidationException', 'KeyId is required.');
    }
    const aliasName = this.aliasNameOf(keyIdentifier);
    if (aliasName !== undefined) {
      const keyId = this.aliases.get(aliasName);
      if (keyId === undefined) {
        throw new KmsProtocolError('NotFoundException', `Alias ${this.aliasArn(aliasName)} is not found.`);
      }
      return this.keysById.get(keyId)!;
    }
    const keyId = keyIdentifier.startsWith('arn:') ? this.keyIdOfArn(keyIdentifier) : keyIdentifier;
    const key = keyId === undefined ? undefined : this.keysById.get(keyId);
    if (!key) {
      throw new KmsProtocolError('NotFoundException', `Key '${keyIdentifier}' does not exist`);
    }
    return key;
  }

  /** The key, if it exists and is enabled; this is the check every cryptographic operation makes. */
  resolveUsable(keyIdentifier: string | undefined): KmsKey {
    const key = this.resolve(keyIdentifier);
    assertEnabled(key);
    return key;
  }

  encrypt(key: KmsKey, plaintext: Buffer, context: EncryptionContext | undefined): Buffer {
    const header = Buffer.concat([Buffer.of(BLOB_FORMAT), uuidToBytes(key.id)]);
    const iv = randomBytes(IV_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', key.material, iv);
    cipher.setAAD(associatedData(header, context));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, iv, cipher.getAuthTag(), ciphertext]);
  }

  /** Finds the key the blob names, then authenticates blob and context together. */
  decrypt(blob: Buffer, context: EncryptionContext | undefined): { key: KmsKey; plaintext: Buffer } {
    if (blob.length < MIN_BLOB_LENGTH || blob[0] !== BLOB_FORMAT) {
      throw invalidCiphertext();
    }
    const header = blob.subarray(0, HEADER_LENGTH);
    const key = this.keysById.get(bytesToUuid(header.subarray(1)));
    if (!key) {
      throw invalidCiphertext();
    }
    assertEnabled(key);
    const iv = blob.subarray(HEADER_LENGTH, HEADER_LENGTH + IV_LENGTH);
    const tag = blob.subarray(HEADER_LENGTH + IV_LENGTH, HEADER_LENGTH + IV_LENGTH + TAG_LENGTH);
    const ciphertext = blob.subarray(HEADER_LENGTH + IV_LENGTH + TAG_LENGTH);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.material, iv);
      decipher.setAAD(associatedData(header, context));
      decipher.setAuthTag(tag);
      return { key, plaintext: Buffer.concat([decipher.update(ciphertext), decipher.final()]) };
    } catch {
      throw invalidCiphertext();
    }
  }

  private aliasNameOf(keyIdentifier: string): string | undefined {
    if (keyIdentifier.startsWith('alias/')) return keyIdentifier;
    const match = /^arn:aws:kms:[^:]+:\d{12}:(alias\/.+)$/.exec(keyIdentifier);
    return match?.[1];
  }

  private keyIdOfArn(arn: string): string | undefined {
    const key = [...this.keysById.values()].find((candidate) => candidate.arn === arn);
    return key?.id;
  }

  private aliasArn(aliasName: string): string {
    return `arn:aws:kms:${this.region}:${KMS_TEST_ACCOUNT_ID}:${aliasName}`;
  }
}

function assertEnabled(key: KmsKey): void {
  if (!key.enabled) {
    throw new KmsProtocolError('DisabledException', `${key.arn} is disabled.`);
  }
}

function invalidCiphertext(): KmsProtocolError {
  return new KmsProtocolError('InvalidCiphertextException', '');
}

/** Canonical form: keys sorted, so `{a,b}` and `{b,a}` bind the same; absent and empty are the same. */
export function canonicalContext(context: EncryptionContext | undefined): string {
  const entries = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(entries);
}

function associatedData(header: Buffer, context: EncryptionContext | undefined): Buffer {
  return Buffer.concat([header, Buffer.from(canonicalContext(context), 'utf8')]);
}

function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
