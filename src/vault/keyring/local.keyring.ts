import { createHmac, randomBytes } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal, DecryptionFailedError } from '../aes-gcm';
import { KeyringError, type GeneratedDataKey, type Keyring, type KeyPurpose, type WrappedDataKey } from './keyring';

/**
 * Wraps tenant data keys with AES-256-GCM under a local 256-bit master key.
 *
 * Wrapped format 1: [0x01][IV 12][tag 16][encrypted data key 32] (61 bytes).
 *
 * AAD = 0x01 || str("keyward:purpose=" + purpose) || str("keyward:tenant=" + tenantId)
 *            || str("keyward:master-key-id=" + masterKeyId)
 * where str(s) = uint32 BE byte length of UTF-8(s) || UTF-8(s). This mirrors the AWS KMS
 * keyring's EncryptionContext, so a wrapped key presented for another tenant (or, for an audit
 * chain key, purpose `audit-key` and the chain name as tenant, another chain or purpose) fails.
 */

const WRAP_FORMAT_V1 = 0x01;
const MASTER_KEY_BYTES = 32;
const DATA_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const IV_OFFSET = 1;
const TAG_OFFSET = IV_OFFSET + IV_BYTES;
const CIPHERTEXT_OFFSET = TAG_OFFSET + TAG_BYTES;
const WRAPPED_BYTES = CIPHERTEXT_OFFSET + DATA_KEY_BYTES;

export interface LocalKeyringOptions {
  /** Master keys used before the current one; only used to unwrap/rewrap, never to wrap. */
  previous?: readonly Buffer[];
}

/** `local:` + 16 hex chars of HMAC-SHA256(masterKey, "keyward:master-key-id"): identifies, never reveals. */
export function localMasterKeyId(masterKey: Buffer): string {
  assertMasterKey(masterKey);
  const fingerprint = createHmac('sha256', masterKey).update('keyward:master-key-id').digest('hex');
  return `local:${fingerprint.slice(0, 16)}`;
}

export class LocalKeyring implements Keyring {
  readonly kind = 'local' as const;
  readonly masterKeyId: string;
  readonly #masterKeysById = new Map<string, Buffer>();
  readonly #currentMasterKey: Buffer;

  constructor(currentMasterKey: Buffer, options: LocalKeyringOptions = {}) {
    this.#currentMasterKey = this.#addMasterKey(currentMasterKey);
    this.masterKeyId = localMasterKeyId(this.#currentMasterKey);
    for (const previous of options.previous ?? []) this.#addMasterKey(previous);
  }

  async generateDataKey(tenantId: string, purpose: KeyPurpose = 'data-key'): Promise<GeneratedDataKey> {
    const plaintext = randomBytes(DATA_KEY_BYTES);
    try {
      return { ...this.#wrap(tenantId, plaintext, purpose), plaintext };
    } catch (error) {
      plaintext.fill(0);
      throw error;
    }
  }

  async wrapDataKey(tenantId: string, plaintext: Buffer, purpose: KeyPurpose = 'data-key'): Promise<WrappedDataKey> {
    return this.#wrap(tenantId, plaintext, purpose);
  }

  async unwrapDataKey(tenantId: string, wrapped: WrappedDataKey, purpose: KeyPurpose = 'data-key'): Promise<Buffer> {
    return this.#unwrap(tenantId, wrapped, purpose);
  }

  /** Local keys have no server-side re-encrypt: unwrap under whichever master wrapped it, wrap under the current one. */
  async rewrapDataKey(
    tenantId: string,
    wrapped: WrappedDataKey,
    purpose: KeyPurpose = 'data-key',
  ): Promise<WrappedDataKey> {
    const plaintext = this.#unwrap(tenantId, wrapped, purpose);
    try {
      return this.#wrap(tenantId, plaintext, purpose);
    } finally {
      plaintext.fill(0);
    }
  }

  /** Returns this keyring's private copy, so later changes to the caller's buffer have no effect. */
  #addMasterKey(masterKey: Buffer): Buffer {
    const id = localMasterKeyId(masterKey);
    const existing = this.#masterKeysById.get(id);
    if (existing !== undefined) {
      if (!existing.equals(masterKey)) throw new Error('two different local master keys have the same master key id');
      return existing;
    }
    const privateCopy = Buffer.alloc(MASTER_KEY_BYTES);
    masterKey.copy(privateCopy);
    this.#masterKeysById.set(id, privateCopy);
    return privateCopy;
  }

  #wrap(tenantId: string, plaintext: Buffer, purpose: KeyPurpose): WrappedDataKey {
    if (!Buffer.isBuffer(plaintext) || plaintext.length !== DATA_KEY_BYTES) {
      throw new RangeError(`data key must be exactly ${DATA_KEY_BYTES} bytes`);
    }
    const iv = randomBytes(IV_BYTES);
    const aad = wrapAssociatedData(tenantId, this.masterKeyId, purpose);
    const { ciphertext, tag } = aesGcmSeal(this.#currentMasterKey, iv, plaintext, aad, TAG_BYTES);
    return {
      wrapped: Buffer.concat([Buffer.from([WRAP_FORMAT_V1]), iv, tag, ciphertext]),
      masterKeyId: this.masterKeyId,
    };
  }

  #unwrap(tenantId: string, { wrapped, masterKeyId }: WrappedDataKey, purpose: KeyPurpose): Buffer {
    const masterKey = this.#masterKeysById.get(masterKeyId);
    if (masterKey === undefined) {
      throw new KeyringError(
        'rejected',
        `data key is wrapped by master key ${masterKeyId}, which this local keyring does not hold`,
      );
    }
    if (!Buffer.isBuffer(wrapped) || wrapped.length !== WRAPPED_BYTES || wrapped[0] !== WRAP_FORMAT_V1) {
      throw new KeyringError('rejected', 'wrapped data key is malformed');
    }
    const aad = wrapAssociatedData(tenantId, masterKeyId, purpose);
    try {
      return aesGcmOpen(
        masterKey,
        wrapped.subarray(IV_OFFSET, TAG_OFFSET),
        wrapped.subarray(CIPHERTEXT_OFFSET),
        wrapped.subarray(TAG_OFFSET, CIPHERTEXT_OFFSET),
        aad,
        TAG_BYTES,
      );
    } catch (error) {
      if (error instanceof DecryptionFailedError) {
        throw new KeyringError('rejected', 'wrapped data key did not authenticate (wrong tenant, or tampered)');
      }
      throw error;
    }
  }
}

function assertMasterKey(masterKey: Buffer): void {
  if (!Buffer.isBuffer(masterKey) || masterKey.length !== MASTER_KEY_BYTES) {
    throw new RangeError(`local master key must be exactly ${MASTER_KEY_BYTES} bytes`);
  }
}

function wrapAssociatedData(tenantId: string, masterKeyId: string, purpose: KeyPurpose): Buffer {
  if (typeof tenantId !== 'string' || tenantId.length === 0)
    throw new TypeError('tenant id must be a non-empty string');
  return Buffer.concat([
    Buffer.from([WRAP_FORMAT_V1]),
    lengthPrefixed(`keyward:purpose=${purpose}`),
    lengthPrefixed(`keyward:tenant=${tenantId}`),
    lengthPrefixed(`keyward:master-key-id=${masterKeyId}`),
  ]);
}

function lengthPrefixed(value: string): Buffer {
  const utf8 = Buffer.from(value, 'utf8');
  // Lone surrogates all encode to U+FFFD, which would let distinct tenant ids collide.
  if (utf8.toString('utf8') !== value) throw new TypeError('tenant id is not well-formed Unicode');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(utf8.length, 0);
  return Buffer.concat([length, utf8]);
}
