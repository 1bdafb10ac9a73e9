import {
  CreateKeyCommand,
  DecryptCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  KMSClient,
  KMSServiceException,
} from '@aws-sdk/client-kms';
import { AwsKmsKeyring, type AwsKmsKeyringOptions } from '../../src/vault/keyring/aws-kms.keyring';
import { KeyringError, type WrappedDataKey } from '../../src/vault/keyring/keyring';
import { type KmsServer, startKmsServer } from '../support/kms-server';

const TENANT = 'tenant-a';
const OTHER_TENANT = 'tenant-b';
const REGION = 'us-east-1';
const contextFor = (tenantId: string) => ({ 'keyward:tenant': tenantId, 'keyward:purpose': 'data-key' });

let kms: KmsServer;
let keyArn: string;
const openKeyrings: AwsKmsKeyring[] = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  kms = await startKmsServer({ region: REGION });
  // The keyring builds its own client through the SDK's default credential chain.
  process.env.AWS_ACCESS_KEY_ID = 'AKIDTESTONLY';
  process.env.AWS_SECRET_ACCESS_KEY = 'test-only-secret';
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_ENDPOINT_URL_KMS;
});

beforeEach(() => {
  keyArn = kms.createKey('keyward test key');
});

afterEach(() => {
  for (const keyring of openKeyrings.splice(0)) keyring.close();
  kms.failMode = 'none';
  kms.resetCalls();
});

afterAll(async () => {
  await kms.close();
  process.env = savedEnv;
});

async function openKeyring(options: Partial<AwsKmsKeyringOptions> = {}): Promise<AwsKmsKeyring> {
  const keyring = await AwsKmsKeyring.create({ keyId: keyArn, endpoint: kms.endpoint, region: REGION, ...options });
  openKeyrings.push(keyring);
  kms.resetCalls();
  return keyring;
}

async function keyringErrorOf(promise: Promise<unknown>): Promise<KeyringError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(KeyringError);
  return error as KeyringError;
}

function flipBit(bytes: Buffer, bit: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

describe('AwsKmsKeyring against a KMS-protocol server with the real SDK', () => {
  describe('creating', () => {
    it('resolves an alias or a bare key id to the ARN KMS reports, with one DescribeKey', async () => {
      kms.createAlias('alias/keyward-test', keyArn);
      const keyId = keyArn.split('/').pop()!;
      kms.resetCalls();

      const byAlias = await AwsKmsKeyring.create({
        keyId: 'alias/keyward-test',
        endpoint: kms.endpoint,
        region: REGION,
      });
      openKeyrings.push(byAlias);
      expect(kms.calls.counts).toEqual({ DescribeKey: 1 });
      const byKeyId = await openKeyring({ keyId });

      expect(byAlias.kind).toBe('aws-kms');
      expect(byAlias.masterKeyId).toBe(keyArn);
      expect(byKeyId.masterKeyId).toBe(keyArn);
    });

    it('honours AWS_ENDPOINT_URL_KMS through the SDK when no endpoint is given', async () => {
      process.env.AWS_ENDPOINT_URL_KMS = kms.endpoint;
      try {
        const keyring = await AwsKmsKeyring.create({ keyId: keyArn, region: REGION });
        openKeyrings.push(keyring);
        expect(keyring.masterKeyId).toBe(keyArn);
      } finally {
        delete process.env.AWS_ENDPOINT_URL_KMS;
      }
    });

    it('is rejected for a key KMS does not know', async () => {
      const error = await keyringErrorOf(openKeyring({ keyId: 'alias/does-not-exist' }));
      expect(error.reason).toBe('rejected');
      expect(error.message).toContain('NotFoundException');
    });

    it('is unavailable when nothing listens at the endpoint', async () => {
      const stopped = await startKmsServer();
      await stopped.close();
      const error = await keyringErrorOf(openKeyring({ endpoint: stopped.endpoint }));
      expect(error.reason).toBe('unavailable');
    });
  });

  describe('wrapping and unwrapping', () => {
    it('round-trips a generated data key with one call per operation and the tenant context', async () => {
      const keyring = await openKeyring();

      const generated = await keyring.generateDataKey(TENANT);
      const unwrapped = await keyring.unwrapDataKey(TENANT, generated);

      expect(generated.plaintext).toHaveLength(32);
      expect(generated.plaintext.equals(Buffer.alloc(32))).toBe(false);
      expect(unwrapped.equals(generated.plaintext)).toBe(true);
      expect(unwrapped).not.toBe(generated.plaintext);
      expect(generated.masterKeyId).toBe(keyArn);
      expect(generated.wrapped.includes(generated.plaintext)).toBe(false);
      expect(kms.calls.counts).toEqual({ GenerateDataKey: 1, Decrypt: 1 });
      expect(kms.calls.log).toEqual([
        { operation: 'GenerateDataKey', keyId: keyArn, encryptionContext: contextFor(TENANT) },
        { operation: 'Decrypt', keyId: keyArn, encryptionContext: contextFor(TENANT) },
      ]);
    });

    it('wraps a caller-supplied data key with Encrypt and unwraps it to the same bytes', async () => {
      const keyring = await openKeyring();
      const dataKey = Buffer.alloc(32, 0x5a);

      const wrapped = await keyring.wrapDataKey(TENANT, dataKey);

      expect(wrapped.masterKeyId).toBe(keyArn);
      expect((await keyring.unwrapDataKey(TENANT, wrapped)).equals(dataKey)).toBe(true);
      expect(dataKey.equals(Buffer.alloc(32, 0x5a))).toBe(true);
      expect(kms.calls.counts).toEqual({ Encrypt: 1, Decrypt: 1 });
      expect(kms.calls.log[0]).toEqual({ operation: 'Encrypt', keyId: keyArn, encryptionContext: contextFor(TENANT) });
    });

    it('refuses to wrap anything but a 32-byte key, without calling KMS', async () => {
      const keyring = await openKeyring();
      await expect(keyring.wrapDataKey(TENANT, Buffer.alloc(16))).rejects.toThrow(RangeError);
      expect(kms.calls.counts).toEqual({});
    });

    it('rejects a wrapped key presented for another tenant, once, without leaking key material', async () => {
      const keyring = await openKeyring();
      const generated = await keyring.generateDataKey(TENANT);
      kms.resetCalls();

      const error = await keyringErrorOf(keyring.unwrapDataKey(OTHER_TENANT, generated));

      expect(error.reason).toBe('rejected');
      expect(error.message).toContain('InvalidCiphertextException');
      for (const secret of [generated.plaintext, generated.wrapped]) {
        expect(error.message).not.toContain(secret.toString('hex'));
        expect(error.message).not.toContain(secret.toString('base64'));
      }
      expect(kms.calls.counts).toEqual({ Decrypt: 1 });
      expect(kms.calls.log[0]?.encryptionContext).toEqual(contextFor(OTHER_TENANT));
    });

    it('rejects a wrapped key with any single bit of its ciphertext flipped', async () => {
      const keyring = await openKeyring();
      const generated = await keyring.generateDataKey(TENANT);
      const bits = generated.wrapped.length * 8;
      kms.resetCalls();

      const accepted: number[] = [];
      const notRejected: string[] = [];
      for (let bit = 0; bit < bits; bit += 1) {
        const tampered = { wrapped: flipBit(generated.wrapped, bit), masterKeyId: generated.masterKeyId };
        try {
          await keyring.unwrapDataKey(TENANT, tampered);
          accepted.push(bit);
        } catch (error) {
          if (!(error instanceof KeyringError) || error.reason !== 'rejected')
            notRejected.push(`${bit}: ${String(error)}`);
        }
      }

      expect(accepted).toEqual([]);
      expect(notRejected).toEqual([]);
      expect(kms.calls.counts).toEqual({ Decrypt: bits });
      expect((await keyring.unwrapDataKey(TENANT, generated)).equals(generated.plaintext)).toBe(true);
    });

    it('rejects a blob whose recorded master key is not the key that wrapped it', async () => {
      const keyring = await openKeyring();
      const generated = await keyring.generateDataKey(TENANT);
      const otherKeyArn = kms.createKey();

      const error = await keyringErrorOf(
        keyring.unwrapDataKey(TENANT, { wrapped: generated.wrapped, masterKeyId: otherKeyArn }),
      );

      expect(error.reason).toBe('rejected');
      expect(error.message).toContain('IncorrectKeyException');
    });
  });

  describe('rewrapping after a change of KMS key', () => {
    it('moves a key under the new ARN inside KMS so the old key is no longer needed', async () => {
      const oldKeyring = await openKeyring();
      const original = await oldKeyring.generateDataKey(TENANT);
      keyArn = kms.createKey('the new key');
      const newKeyring = await openKeyring();

      const rewrapped = await newKeyring.rewrapDataKey(TENANT, original);
      const reWrapCalls = kms.calls;
      kms.disableKey(original.masterKeyId);

      expect(rewrapped.masterKeyId).toBe(keyArn);
      expect(rewrapped.masterKeyId).not.toBe(original.masterKeyId);
      expect(reWrapCalls.counts).toEqual({ ReEncrypt: 1 });
      expect(reWrapCalls.log[0]).toEqual({
        operation: 'ReEncrypt',
        keyId: keyArn,
        sourceKeyId: original.masterKeyId,
        encryptionContext: contextFor(TENANT),
        destinationEncryptionContext: contextFor(TENANT),
      });
      expect((await newKeyring.unwrapDataKey(TENANT, rewrapped)).equals(original.plaintext)).toBe(true);
      expect((await keyringErrorOf(newKeyring.unwrapDataKey(TENANT, original))).reason).toBe('rejected');
    });

    it('keeps the tenant binding through the rewrap', async () => {
      const original = await (await openKeyring()).generateDataKey(TENANT);
      keyArn = kms.createKey();
      const newKeyring = await openKeyring();

      expect((await keyringErrorOf(newKeyring.rewrapDataKey(OTHER_TENANT, original))).reason).toBe('rejected');
      const rewrapped = await newKeyring.rewrapDataKey(TENANT, original);
      expect((await keyringErrorOf(newKeyring.unwrapDataKey(OTHER_TENANT, rewrapped))).reason).toBe('rejected');
    });

    it('leaves a key already under the current ARN as it is, without a KMS call', async () => {
      const keyring = await openKeyring();
      const generated = await keyring.generateDataKey(TENANT);
      kms.resetCalls();

      const result = await keyring.rewrapDataKey(TENANT, generated);

      expect(result.wrapped.equals(generated.wrapped)).toBe(true);
      expect(result.masterKeyId).toBe(keyArn);
      expect(kms.calls.counts).toEqual({});
    });
  });

  describe('a disabled key', () => {
    it('rejects new data keys and unwrapping, with no retries', async () => {
      const keyring = await openKeyring();
      const wrapped: WrappedDataKey = await keyring.generateDataKey(TENANT);
      kms.disableKey(keyArn);
      kms.resetCalls();

      const generateError = await keyringErrorOf(keyring.generateDataKey(TENANT));
      const unwrapError = await keyringErrorOf(keyring.unwrapDataKey(TENANT, wrapped));

      expect(generateError.reason).toBe('rejected');
      expect(generateError.message).toContain('DisabledException');
      expect(unwrapError.reason).toBe('rejected');
      expect(kms.calls.counts).toEqual({ GenerateDataKey: 1, Decrypt: 1 });
    });
  });

  describe('when KMS misbehaves', () => {
    it('succeeds after throttling, through the SDK retry', async () => {
      const keyring = await openKeyring();
      kms.setFailMode('throttle', 2);

      const generated = await keyring.generateDataKey(TENANT);

      expect((await keyring.unwrapDataKey(TENANT, generated)).equals(generated.plaintext)).toBe(true);
      expect(kms.calls.counts).toEqual({ GenerateDataKey: 3, Decrypt: 1 });
      expect(kms.calls.log.map((call) => call.error)).toEqual([
        'ThrottlingException',
        'ThrottlingException',
        undefined,
        undefined,
      ]);
    });

    it('is unavailable when throttling persists, after exactly maxAttempts attempts (default 4)', async () => {
      const keyring = await openKeyring();
      kms.failMode = 'throttle';

      const error = await keyringErrorOf(keyring.generateDataKey(TENANT));

      expect(error.reason).toBe('unavailable');
      expect(error.message).toContain('ThrottlingException');
      expect(kms.calls.counts).toEqual({ GenerateDataKey: 4 });
    });

    it('honours a configured maxAttempts', async () => {
      const keyring = await openKeyring({ maxAttempts: 2 });
      kms.failMode = 'internal-error';

      const error = await keyringErrorOf(
        keyring.unwrapDataKey(TENANT, { wrapped: Buffer.alloc(77), masterKeyId: keyArn }),
      );

      expect(error.reason).toBe('unavailable');
      expect(error.message).toContain('KMSInternalException');
      expect(kms.calls.counts).toEqual({ Decrypt: 2 });
    });

    it('is unavailable quickly when the connection is dropped without a response', async () => {
      const keyring = await openKeyring();
      kms.failMode = 'down';

      const started = Date.now();
      const error = await keyringErrorOf(keyring.generateDataKey(TENANT));

      expect(error.reason).toBe('unavailable');
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(kms.calls.counts).toEqual({ GenerateDataKey: 4 });
    });

    it('recovers once the connection stops dropping', async () => {
      const keyring = await openKeyring();
      kms.setFailMode('down', 1);

      const generated = await keyring.generateDataKey(TENANT);

      expect(generated.plaintext).toHaveLength(32);
      expect(kms.calls.counts).toEqual({ GenerateDataKey: 2 });
    });

    it('times out a request KMS never answers and reports it unavailable', async () => {
      const keyring = await openKeyring({ requestTimeoutMs: 300, maxAttempts: 2 });
      kms.failMode = 'hang';

      const started = Date.now();
      const error = await keyringErrorOf(keyring.generateDataKey(TENANT));

      expect(error.reason).toBe('unavailable');
      expect(error.message).toContain('TimeoutError');
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(kms.calls.counts).toEqual({ GenerateDataKey: 2 });
    });
  });

  describe('the KMS test server itself', () => {
    const sdkClient = () =>
      new KMSClient({
        region: 'eu-west-1',
        endpoint: kms.endpoint,
        credentials: { accessKeyId: 'AKIDTESTONLY', secretAccessKey: 'test-only-secret' },
        maxAttempts: 1,
      });

    it('creates keys through CreateKey and decrypts self-describing blobs without a KeyId, context enforced', async () => {
      const client = sdkClient();
      try {
        const created = await client.send(new CreateKeyCommand({ Description: 'via the SDK' }));
        const arn = created.KeyMetadata?.Arn;
        expect(arn).toMatch(/^arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36}$/);
        const context = { purpose: 'server-test' };
        const generated = await client.send(
          new GenerateDataKeyWithoutPlaintextCommand({ KeyId: arn, NumberOfBytes: 32, EncryptionContext: context }),
        );
        expect(generated).not.toHaveProperty('Plaintext');

        const decrypted = await client.send(
          new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }),
        );
        expect(decrypted.KeyId).toBe(arn);
        expect(decrypted.Plaintext).toHaveLength(32);

        const wrongContext = await client
          .send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob }))
          .catch((error: unknown) => error);
        expect(wrongContext).toBeInstanceOf(KMSServiceException);
        expect((wrongContext as KMSServiceException).name).toBe('InvalidCiphertextException');
        expect((wrongContext as KMSServiceException).$metadata.httpStatusCode).toBe(400);
        expect(JSON.stringify(kms.calls.log)).not.toContain(Buffer.from(decrypted.Plaintext!).toString('base64'));
      } finally {
        client.destroy();
      }
    });

    it('refuses unsigned requests and unknown operations with JSON errors', async () => {
      const post = (headers: Record<string, string>) =>
        fetch(`${kms.endpoint}/`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-amz-json-1.1', ...headers },
          body: '{}',
        });

      const unsigned = await post({ 'x-amz-target': 'TrentService.DescribeKey' });
      const unknown = await post({ 'x-amz-target': 'TrentService.Nope', authorization: 'AWS4-HMAC-SHA256 test' });

      expect(unsigned.status).toBe(400);
      expect(await unsigned.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });
    });
  });
});
