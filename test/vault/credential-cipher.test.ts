import { randomBytes } from 'node:crypto';
import { DecryptionFailedError } from '../../src/vault/aes-gcm';
import {
  CREDENTIAL_FORMAT_V1,
  openCredential,
  readCredentialHeader,
  sealCredential,
  type CredentialBinding,
} from '../../src/vault/credential-cipher';

const dataKey = randomBytes(32);
const apiKey = Buffer.from('sk-ant-api03-example-credential-plaintext', 'utf8');
const binding: CredentialBinding = {
  tenantId: '5d0c1c9e-6f3b-4d7a-9a51-0c0f3f4f7a10',
  credentialId: 'b8f1a0de-2f5c-4b7e-8a55-6b7e3c2d1f00',
  provider: 'anthropic',
  scope: 'PERSONAL',
  ownerId: 'a3c9e2b1-1d4f-4e6a-b7c8-9d0e1f2a3b4c',
  dataKeyVersion: 3,
};

const HEADER_BYTES = 1 + 4 + 12 + 16;
const REGIONS = {
  'format byte': [0, 1],
  'data-key version': [1, 5],
  IV: [5, 17],
  tag: [17, 33],
  ciphertext: [33, 33 + apiKey.length],
} as const;

function flipBit(blob: Buffer, bit: number): Buffer {
  const copy = Buffer.from(blob);
  copy[bit >> 3] ^= 1 << (bit & 7);
  return copy;
}

describe('credential cipher', () => {
  test('round trip returns the plaintext', () => {
    const blob = sealCredential(dataKey, apiKey, binding);
    expect(blob).toHaveLength(HEADER_BYTES + apiKey.length);
    expect(blob.includes(apiKey)).toBe(false);
    expect(openCredential(dataKey, blob, binding).equals(apiKey)).toBe(true);
  });

  test('an empty plaintext round trips', () => {
    const blob = sealCredential(dataKey, Buffer.alloc(0), binding);
    expect(blob).toHaveLength(HEADER_BYTES);
    expect(openCredential(dataKey, blob, binding)).toHaveLength(0);
  });

  test('sealing the same plaintext twice gives different blobs (fresh IV each time)', () => {
    const first = sealCredential(dataKey, apiKey, binding);
    const second = sealCredential(dataKey, apiKey, binding);
    expect(first.equals(second)).toBe(false);
    expect(first.subarray(5, 17).equals(second.subarray(5, 17))).toBe(false);
    expect(openCredential(dataKey, second, binding).equals(apiKey)).toBe(true);
  });

  test('the layout is [format][version uint32 BE][IV 12][tag 16][ciphertext]', () => {
    const blob = sealCredential(dataKey, apiKey, { ...binding, dataKeyVersion: 0x01020304 });
    expect(blob[0]).toBe(CREDENTIAL_FORMAT_V1);
    expect([...blob.subarray(1, 5)]).toEqual([1, 2, 3, 4]);
  });

  test('opening with another data key fails', () => {
    const blob = sealCredential(dataKey, apiKey, binding);
    expect(() => openCredential(randomBytes(32), blob, binding)).toThrow(DecryptionFailedError);
  });

  test.each(Object.entries(REGIONS))('flipping any single bit of the %s makes open fail', (_region, [start, end]) => {
    const blob = sealCredential(dataKey, apiKey, binding);
    const openedDespiteFlip: number[] = [];
    let checked = 0;
    for (let bit = start * 8; bit < end * 8; bit += 1) {
      try {
        openCredential(dataKey, flipBit(blob, bit), binding);
        openedDespiteFlip.push(bit);
      } catch (error) {
        if (!(error instanceof DecryptionFailedError)) throw error;
      }
      checked += 1;
    }
    expect(openedDespiteFlip).toEqual([]);
    expect(checked).toBe((end - start) * 8);
  });

  const changedBindings: Array<[string, Partial<CredentialBinding>]> = [
    ['tenantId', { tenantId: 'another-tenant' }],
    ['credentialId', { credentialId: 'another-credential' }],
    ['provider', { provider: 'openai' }],
    ['scope', { scope: 'TENANT' }],
    ['ownerId value -> null', { ownerId: null }],
    ['ownerId value -> other value', { ownerId: 'another-user' }],
    ['ownerId value -> empty string', { ownerId: '' }],
  ];
  test.each(changedBindings)('a blob opened for a row with a different %s fails', (_field, change) => {
    const blob = sealCredential(dataKey, apiKey, binding);
    expect(() => openCredential(dataKey, blob, { ...binding, ...change })).toThrow(DecryptionFailedError);
  });

  test('ownerId null and ownerId "" are different bindings', () => {
    const tenantKey = sealCredential(dataKey, apiKey, { ...binding, ownerId: null });
    expect(openCredential(dataKey, tenantKey, { ...binding, ownerId: null }).equals(apiKey)).toBe(true);
    expect(() => openCredential(dataKey, tenantKey, { ...binding, ownerId: '' })).toThrow(DecryptionFailedError);
    expect(() => openCredential(dataKey, tenantKey, binding)).toThrow(DecryptionFailedError);
  });

  test('a different dataKeyVersion in the binding fails on the header check', () => {
    const blob = sealCredential(dataKey, apiKey, binding);
    expect(() => openCredential(dataKey, blob, { ...binding, dataKeyVersion: 4 })).toThrow(
      expect.objectContaining({ name: 'DecryptionFailedError', reason: 'key-version-mismatch' }),
    );
  });

  test('rewriting the header version to match another binding still fails (version is in the AAD)', () => {
    const blob = sealCredential(dataKey, apiKey, binding);
    const forged = Buffer.from(blob);
    forged.writeUInt32BE(4, 1);
    expect(() => openCredential(dataKey, forged, { ...binding, dataKeyVersion: 4 })).toThrow(
      expect.objectContaining({ reason: 'authentication-failed' }),
    );
  });

  test('field boundaries are unambiguous: moving characters between adjacent fields fails', () => {
    const original = { ...binding, tenantId: 'ab', credentialId: 'c', provider: 'anthropic', scope: 'TENANT' };
    const blob = sealCredential(dataKey, apiKey, original);
    expect(() => openCredential(dataKey, blob, { ...original, tenantId: 'a', credentialId: 'bc' })).toThrow(
      DecryptionFailedError,
    );
    expect(() => openCredential(dataKey, blob, { ...original, provider: 'anthropicT', scope: 'ENANT' })).toThrow(
      DecryptionFailedError,
    );
  });

  test.each([0, 1, 5, 17, HEADER_BYTES - 1, HEADER_BYTES, HEADER_BYTES + apiKey.length - 1])(
    'a blob truncated to %i bytes fails to open',
    (length) => {
      const blob = sealCredential(dataKey, apiKey, binding);
      expect(() => openCredential(dataKey, blob.subarray(0, length), binding)).toThrow(DecryptionFailedError);
    },
  );

  test('a blob with bytes appended fails to open', () => {
    const blob = sealCredential(dataKey, apiKey, binding);
    expect(() => openCredential(dataKey, Buffer.concat([blob, Buffer.from([0])]), binding)).toThrow(
      DecryptionFailedError,
    );
  });

  test('data keys that are not exactly 32 bytes are refused with a plain Error', () => {
    const blob = sealCredential(dataKey, apiKey, binding);
    for (const badKey of [randomBytes(16), randomBytes(31), randomBytes(33)]) {
      expect(() => sealCredential(badKey, apiKey, binding)).toThrow('data key must be exactly 32 bytes');
      let thrown: unknown;
      try {
        openCredential(badKey, blob, binding);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(Error);
      expect(thrown).not.toBeInstanceOf(DecryptionFailedError);
    }
  });

  test('bindings with a dataKeyVersion outside uint32 are refused', () => {
    for (const dataKeyVersion of [-1, 1.5, 2 ** 32, Number.NaN]) {
      expect(() => sealCredential(dataKey, apiKey, { ...binding, dataKeyVersion })).toThrow(RangeError);
    }
  });

  test('decryption errors never contain key or plaintext bytes', () => {
    const blob = sealCredential(dataKey, apiKey, binding);
    let thrown: unknown;
    try {
      openCredential(dataKey, flipBit(blob, 40 * 8), binding);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DecryptionFailedError);
    const rendered = `${String(thrown)} ${JSON.stringify(thrown)} ${(thrown as Error).stack}`;
    for (const secret of [dataKey.toString('hex'), dataKey.toString('base64'), apiKey.toString('utf8')]) {
      expect(rendered).not.toContain(secret);
    }
  });

  describe('readCredentialHeader', () => {
    test('reads the format and data-key version', () => {
      const blob = sealCredential(dataKey, apiKey, { ...binding, dataKeyVersion: 0xfffffffe });
      expect(readCredentialHeader(blob)).toEqual({ format: CREDENTIAL_FORMAT_V1, dataKeyVersion: 0xfffffffe });
    });

    test('refuses an unknown format byte', () => {
      const blob = sealCredential(dataKey, apiKey, binding);
      blob[0] = 0x02;
      expect(() => readCredentialHeader(blob)).toThrow(expect.objectContaining({ reason: 'unsupported-format' }));
    });

    test.each([0, 1, 4, HEADER_BYTES - 1])('refuses a blob of %i bytes (shorter than the header)', (length) => {
      const blob = sealCredential(dataKey, apiKey, binding).subarray(0, length);
      expect(() => readCredentialHeader(blob)).toThrow(expect.objectContaining({ reason: 'truncated' }));
    });
  });
});
