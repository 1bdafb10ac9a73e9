import { createCipheriv, createDecipheriv, type CipherGCMTypes, type DecipherGCM } from 'node:crypto';

/**
 * Low-level AES-GCM (AES-128/192/256). General enough for the Wycheproof vectors; the vault
 * itself only uses 256-bit keys, 96-bit IVs and 128-bit tags (see credential-cipher.ts).
 */

export const AES_GCM_DEFAULT_TAG_LENGTH = 16;

/** Tag lengths (bytes) NIST SP 800-38D allows and OpenSSL accepts. */
const SUPPORTED_TAG_LENGTHS: ReadonlySet<number> = new Set([4, 8, 12, 13, 14, 15, 16]);

export interface AesGcmSealed {
  ciphertext: Buffer;
  tag: Buffer;
}

export type DecryptionFailureReason =
  | 'invalid-key-length'
  | 'invalid-iv-length'
  | 'invalid-tag-length'
  | 'invalid-parameters'
  | 'authentication-failed'
  | 'truncated'
  | 'unsupported-format'
  | 'key-version-mismatch';

// Messages are fixed per reason so that no caller can put key or plaintext bytes into one.
const DECRYPTION_FAILURE_MESSAGES: Record<DecryptionFailureReason, string> = {
  'invalid-key-length': 'decryption failed: key length is not 16, 24 or 32 bytes',
  'invalid-iv-length': 'decryption failed: IV length is not supported',
  'invalid-tag-length': 'decryption failed: authentication tag has the wrong length',
  'invalid-parameters': 'decryption failed: cipher parameters were rejected',
  'authentication-failed': 'decryption failed: ciphertext did not authenticate',
  truncated: 'decryption failed: ciphertext is truncated',
  'unsupported-format': 'decryption failed: unknown ciphertext format',
  'key-version-mismatch': 'decryption failed: ciphertext was not encrypted under the expected data-key version',
};

/** Thrown whenever a ciphertext cannot be opened. Never carries key, IV or plaintext bytes. */
export class DecryptionFailedError extends Error {
  constructor(readonly reason: DecryptionFailureReason) {
    super(DECRYPTION_FAILURE_MESSAGES[reason]);
    this.name = 'DecryptionFailedError';
  }
}

function gcmAlgorithmForKeyLength(keyLength: number): CipherGCMTypes | undefined {
  switch (keyLength) {
    case 16:
      return 'aes-128-gcm';
    case 24:
      return 'aes-192-gcm';
    case 32:
      return 'aes-256-gcm';
    default:
      return undefined;
  }
}

export function aesGcmSeal(
  key: Buffer,
  iv: Buffer,
  plaintext: Buffer,
  aad: Buffer,
  tagLength: number = AES_GCM_DEFAULT_TAG_LENGTH,
): AesGcmSealed {
  const algorithm = gcmAlgorithmForKeyLength(key.length);
  if (algorithm === undefined) throw new RangeError('AES-GCM key must be 16, 24 or 32 bytes');
  // A zero-length IV leaks the GHASH key (CVE-2017-7822); refuse it even if a library would not.
  if (iv.length === 0) throw new RangeError('AES-GCM IV must not be empty');
  if (!SUPPORTED_TAG_LENGTHS.has(tagLength)) throw new RangeError('AES-GCM tag length must be 4, 8 or 12-16 bytes');

  const cipher = createCipheriv(algorithm, key, iv, { authTagLength: tagLength });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Returns the plaintext only after the tag has been verified (decipher.final succeeded);
 * on failure the partially decrypted bytes are zero-filled and DecryptionFailedError is thrown.
 */
export function aesGcmOpen(
  key: Buffer,
  iv: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
  aad: Buffer,
  tagLength: number = AES_GCM_DEFAULT_TAG_LENGTH,
): Buffer {
  const algorithm = gcmAlgorithmForKeyLength(key.length);
  if (algorithm === undefined) throw new DecryptionFailedError('invalid-key-length');
  if (iv.length === 0) throw new DecryptionFailedError('invalid-iv-length');
  // Checking tag.length ourselves matters: without it a truncated tag would be verified
  // as a shorter (weaker) tag.
  if (!SUPPORTED_TAG_LENGTHS.has(tagLength) || tag.length !== tagLength) {
    throw new DecryptionFailedError('invalid-tag-length');
  }

  let decipher: DecipherGCM;
  try {
    decipher = createDecipheriv(algorithm, key, iv, { authTagLength: tagLength });
    decipher.setAuthTag(tag);
    decipher.setAAD(aad);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new DecryptionFailedError(code === 'ERR_CRYPTO_INVALID_IV' ? 'invalid-iv-length' : 'invalid-parameters');
  }

  const unverified = decipher.update(ciphertext);
  let tail: Buffer;
  try {
    tail = decipher.final();
  } catch {
    unverified.fill(0);
    throw new DecryptionFailedError('authentication-failed');
  }
  if (tail.length === 0) return unverified;
  const plaintext = Buffer.concat([unverified, tail]);
  unverified.fill(0);
  tail.fill(0);
  return plaintext;
}
