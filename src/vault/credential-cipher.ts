import { randomBytes } from 'node:crypto';
import { aesGcmOpen, aesGcmSeal, DecryptionFailedError } from './aes-gcm';

/**
 * Credential ciphertext, format 1 (all integers big-endian):
 *
 *   offset  size  field
 *   0       1     format byte, 0x01
 *   1       4     data-key version (uint32)
 *   5       12    IV (random per seal)
 *   17      16    GCM tag
 *   33      n     AES-256-GCM ciphertext of the credential
 *
 * The associated data is rebuilt from the credential's row (CredentialBinding), never read
 * from the blob, so a blob copied to another row, tenant, owner or key version fails to open:
 *
 *   AAD = 0x01                                   format byte
 *      || str("keyward:credential")              domain label
 *      || str(tenantId) || str(credentialId) || str(provider) || str(scope)
 *      || (ownerId === null ? 0x00 : 0x01 || str(ownerId))
 *      || uint32(dataKeyVersion)
 *
 *   str(s) = uint32(byte length of UTF-8(s)) || UTF-8(s)
 *
 * Every field is length-prefixed or fixed-size, so distinct bindings never encode to the
 * same bytes (e.g. tenant "ab" + credential "c" differs from tenant "a" + credential "bc",
 * and ownerId null differs from ownerId "").
 */

export const CREDENTIAL_FORMAT_V1 = 0x01;
export type CredentialFormat = typeof CREDENTIAL_FORMAT_V1;

const DATA_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION_OFFSET = 1;
const IV_OFFSET = VERSION_OFFSET + 4;
const TAG_OFFSET = IV_OFFSET + IV_BYTES;
const CIPHERTEXT_OFFSET = TAG_OFFSET + TAG_BYTES;
const MAX_UINT32 = 0xffff_ffff;
const AAD_DOMAIN_LABEL = 'keyward:credential';

export interface CredentialBinding {
  readonly tenantId: string;
  readonly credentialId: string;
  readonly provider: string;
  readonly scope: string;
  readonly ownerId: string | null;
  readonly dataKeyVersion: number;
}

export interface CredentialHeader {
  readonly format: CredentialFormat;
  readonly dataKeyVersion: number;
}

export function sealCredential(dataKey: Buffer, plaintext: Buffer, binding: CredentialBinding): Buffer {
  assertDataKey(dataKey);
  const aad = credentialAssociatedData(binding);
  const iv = randomBytes(IV_BYTES);
  const { ciphertext, tag } = aesGcmSeal(dataKey, iv, plaintext, aad, TAG_BYTES);

  const header = Buffer.alloc(IV_OFFSET);
  header.writeUInt8(CREDENTIAL_FORMAT_V1, 0);
  header.writeUInt32BE(binding.dataKeyVersion, VERSION_OFFSET);
  return Buffer.concat([header, iv, tag, ciphertext]);
}

/** Throws DecryptionFailedError unless the blob is intact, of a known format, and sealed for exactly this binding. */
export function openCredential(dataKey: Buffer, blob: Buffer, binding: CredentialBinding): Buffer {
  assertDataKey(dataKey);
  const aad = credentialAssociatedData(binding);
  const header = readCredentialHeader(blob);
  if (header.dataKeyVersion !== binding.dataKeyVersion) throw new DecryptionFailedError('key-version-mismatch');

  return aesGcmOpen(
    dataKey,
    blob.subarray(IV_OFFSET, TAG_OFFSET),
    blob.subarray(CIPHERTEXT_OFFSET),
    blob.subarray(TAG_OFFSET, CIPHERTEXT_OFFSET),
    aad,
    TAG_BYTES,
  );
}

/** Reads the unauthenticated header, e.g. to pick which data-key version to unwrap before opening. */
export function readCredentialHeader(blob: Buffer): CredentialHeader {
  if (blob.length < 1) throw new DecryptionFailedError('truncated');
  if (blob[0] !== CREDENTIAL_FORMAT_V1) throw new DecryptionFailedError('unsupported-format');
  if (blob.length < CIPHERTEXT_OFFSET) throw new DecryptionFailedError('truncated');
  return { format: CREDENTIAL_FORMAT_V1, dataKeyVersion: blob.readUInt32BE(VERSION_OFFSET) };
}

function assertDataKey(dataKey: Buffer): void {
  if (!Buffer.isBuffer(dataKey) || dataKey.length !== DATA_KEY_BYTES) {
    throw new Error(`credential data key must be exactly ${DATA_KEY_BYTES} bytes`);
  }
}

function credentialAssociatedData(binding: CredentialBinding): Buffer {
  const version = binding.dataKeyVersion;
  if (!Number.isInteger(version) || version < 0 || version > MAX_UINT32) {
    throw new RangeError('credential binding dataKeyVersion must be an integer in the uint32 range');
  }
  const versionBytes = Buffer.alloc(4);
  versionBytes.writeUInt32BE(version, 0);

  const owner =
    binding.ownerId === null
      ? [Buffer.from([0x00])]
      : [Buffer.from([0x01]), lengthPrefixed('ownerId', binding.ownerId)];

  return Buffer.concat([
    Buffer.from([CREDENTIAL_FORMAT_V1]),
    lengthPrefixed('domain label', AAD_DOMAIN_LABEL),
    lengthPrefixed('tenantId', binding.tenantId),
    lengthPrefixed('credentialId', binding.credentialId),
    lengthPrefixed('provider', binding.provider),
    lengthPrefixed('scope', binding.scope),
    ...owner,
    versionBytes,
  ]);
}

function lengthPrefixed(fieldName: string, value: string): Buffer {
  if (typeof value !== 'string') throw new TypeError(`credential binding ${fieldName} must be a string`);
  const utf8 = Buffer.from(value, 'utf8');
  // Lone surrogates all encode to U+FFFD, which would make distinct strings collide.
  if (utf8.toString('utf8') !== value) {
    throw new TypeError(`credential binding ${fieldName} is not well-formed Unicode`);
  }
  const length = Buffer.alloc(4);
  length.writeUInt32BE(utf8.length, 0);
  return Buffer.concat([length, utf8]);
}
