import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyringError, type WrappedDataKey } from '../../src/vault/keyring/keyring';
import { loadLocalMasterKey } from '../../src/vault/keyring/local-master-key';
import { LocalKeyring, localMasterKeyId } from '../../src/vault/keyring/local.keyring';

const TENANT = 'tenant-1';
const OTHER_TENANT = 'tenant-2';
const WRAPPED_BYTES = 1 + 12 + 16 + 32;

async function expectRejected(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(KeyringError);
  await expect(promise).rejects.toMatchObject({ reason: 'rejected' });
}

function flipBit(buffer: Buffer, bit: number): Buffer {
  const copy = Buffer.from(buffer);
  copy[bit >> 3] ^= 1 << (bit & 7);
  return copy;
}

describe('LocalKeyring', () => {
  const masterKey = randomBytes(32);
  const keyring = new LocalKeyring(masterKey);

  test('kind and masterKeyId: a stable fingerprint that does not reveal the key', () => {
    expect(keyring.kind).toBe('local');
    expect(keyring.masterKeyId).toMatch(/^local:[0-9a-f]{16}$/);
    expect(new LocalKeyring(Buffer.from(masterKey)).masterKeyId).toBe(keyring.masterKeyId);
    expect(new LocalKeyring(randomBytes(32)).masterKeyId).not.toBe(keyring.masterKeyId);
    expect(masterKey.toString('hex')).not.toContain(keyring.masterKeyId.slice('local:'.length));
  });

  test('generateDataKey returns 32 random bytes whose wrapped copy unwraps to them', async () => {
    const first = await keyring.generateDataKey(TENANT);
    const second = await keyring.generateDataKey(TENANT);
    expect(first.plaintext).toHaveLength(32);
    expect(first.plaintext.equals(second.plaintext)).toBe(false);
    expect(first.masterKeyId).toBe(keyring.masterKeyId);
    expect(first.wrapped).toHaveLength(WRAPPED_BYTES);
    expect(first.wrapped[0]).toBe(0x01);
    expect(first.wrapped.includes(first.plaintext)).toBe(false);
    expect((await keyring.unwrapDataKey(TENANT, first)).equals(first.plaintext)).toBe(true);
  });

  test('wrapDataKey / unwrapDataKey round trip, with a fresh IV per wrap', async () => {
    const dataKey = randomBytes(32);
    const a = await keyring.wrapDataKey(TENANT, dataKey);
    const b = await keyring.wrapDataKey(TENANT, dataKey);
    expect(a.wrapped.equals(b.wrapped)).toBe(false);
    expect((await keyring.unwrapDataKey(TENANT, a)).equals(dataKey)).toBe(true);
    expect((await keyring.unwrapDataKey(TENANT, b)).equals(dataKey)).toBe(true);
  });

  test('wrapDataKey refuses data keys that are not 32 bytes', async () => {
    await expect(keyring.wrapDataKey(TENANT, randomBytes(16))).rejects.toThrow('data key must be exactly 32 bytes');
  });

  test('a key wrapped for one tenant is rejected for another tenant', async () => {
    const generated = await keyring.generateDataKey(TENANT);
    await expectRejected(keyring.unwrapDataKey(OTHER_TENANT, generated));
    await expectRejected(keyring.rewrapDataKey(OTHER_TENANT, generated));
  });

  test('tenant ids are bound unambiguously (no prefix or suffix confusion)', async () => {
    const generated = await keyring.generateDataKey('tenant-1');
    await expectRejected(keyring.unwrapDataKey('tenant-10', generated));
    await expectRejected(keyring.unwrapDataKey('tenant-', generated));
  });

  test('flipping any single bit of the wrapped key is rejected', async () => {
    const generated = await keyring.generateDataKey(TENANT);
    const acceptedDespiteFlip: number[] = [];
    let checked = 0;
    for (let bit = 0; bit < WRAPPED_BYTES * 8; bit += 1) {
      const tampered: WrappedDataKey = { ...generated, wrapped: flipBit(generated.wrapped, bit) };
      try {
        await keyring.unwrapDataKey(TENANT, tampered);
        acceptedDespiteFlip.push(bit);
      } catch (error) {
        if (!(error instanceof KeyringError) || error.reason !== 'rejected') throw error;
      }
      checked += 1;
    }
    expect(acceptedDespiteFlip).toEqual([]);
    expect(checked).toBe(WRAPPED_BYTES * 8);
  });

  test('truncated or extended wrapped keys are rejected', async () => {
    const generated = await keyring.generateDataKey(TENANT);
    for (const wrapped of [
      generated.wrapped.subarray(0, WRAPPED_BYTES - 1),
      Buffer.alloc(0),
      Buffer.concat([generated.wrapped, Buffer.from([0])]),
    ]) {
      await expectRejected(keyring.unwrapDataKey(TENANT, { ...generated, wrapped }));
    }
  });

  test('an unknown masterKeyId is rejected', async () => {
    const generated = await keyring.generateDataKey(TENANT);
    await expectRejected(keyring.unwrapDataKey(TENANT, { ...generated, masterKeyId: 'local:0000000000000000' }));
    await expectRejected(keyring.unwrapDataKey(TENANT, { ...generated, masterKeyId: 'arn:aws:kms:eu-west-1:1:key/x' }));
  });

  test('the masterKeyId is bound: relabelling a wrap with another held master key id is rejected', async () => {
    const oldKey = randomBytes(32);
    const both = new LocalKeyring(masterKey, { previous: [oldKey] });
    const generated = await both.generateDataKey(TENANT);
    await expectRejected(both.unwrapDataKey(TENANT, { ...generated, masterKeyId: localMasterKeyId(oldKey) }));
  });

  test('the keyring keeps its own copy of the master key', async () => {
    const callerBuffer = randomBytes(32);
    const ownCopy = new LocalKeyring(callerBuffer);
    const generated = await ownCopy.generateDataKey(TENANT);
    callerBuffer.fill(0);
    expect((await ownCopy.unwrapDataKey(TENANT, generated)).equals(generated.plaintext)).toBe(true);
  });

  test('master keys that are not 32 bytes are refused', () => {
    expect(() => new LocalKeyring(randomBytes(16))).toThrow('local master key must be exactly 32 bytes');
    expect(() => new LocalKeyring(randomBytes(32), { previous: [randomBytes(31)] })).toThrow(
      'local master key must be exactly 32 bytes',
    );
  });

  describe('after a master key change', () => {
    const oldMaster = randomBytes(32);
    const newMaster = randomBytes(32);

    test('rewrap moves a key from a previous master to the current one; only the new master is then needed', async () => {
      const before = new LocalKeyring(oldMaster);
      const generated = await before.generateDataKey(TENANT);

      const during = new LocalKeyring(newMaster, { previous: [oldMaster] });
      expect(during.masterKeyId).toBe(localMasterKeyId(newMaster));
      expect((await during.unwrapDataKey(TENANT, generated)).equals(generated.plaintext)).toBe(true);

      const rewrapped = await during.rewrapDataKey(TENANT, generated);
      expect(rewrapped.masterKeyId).toBe(localMasterKeyId(newMaster));
      expect(rewrapped.wrapped.equals(generated.wrapped)).toBe(false);

      const after = new LocalKeyring(newMaster);
      expect((await after.unwrapDataKey(TENANT, rewrapped)).equals(generated.plaintext)).toBe(true);
      await expectRejected(after.unwrapDataKey(TENANT, generated));
      await expectRejected(before.unwrapDataKey(TENANT, rewrapped));
    });

    test('new wraps always go under the current master key', async () => {
      const during = new LocalKeyring(newMaster, { previous: [oldMaster] });
      const generated = await during.generateDataKey(TENANT);
      expect(generated.masterKeyId).toBe(localMasterKeyId(newMaster));
      await expectRejected(new LocalKeyring(oldMaster).unwrapDataKey(TENANT, generated));
    });
  });
});

describe('loadLocalMasterKey', () => {
  let dataDir: string;
  let warnings: string[];
  const log = { warn: (message: string) => warnings.push(message) };

  beforeEach(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyward-master-key-'));
    warnings = [];
  });
  afterEach(async () => {
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  test('generates a development key with mode 0600, warns once without the key, and reuses it', async () => {
    const nestedDataDir = path.join(dataDir, 'nested', '.keyward');
    const keyPath = path.join(nestedDataDir, 'master.key');

    const generated = await loadLocalMasterKey({ dataDir: nestedDataDir, production: false, log });
    expect(generated).toHaveLength(32);
    expect((await fs.stat(keyPath)).mode & 0o777).toBe(0o600);
    expect((await fs.readFile(keyPath, 'utf8')).trim()).toBe(generated.toString('base64'));
    expect(await fs.readdir(nestedDataDir)).toEqual(['master.key']);

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Generated a development master key at/);
    expect(warnings[0]).toContain(keyPath);
    expect(warnings[0]).toMatch(/KEYWARD_MASTER_KEY/);
    expect(warnings[0]).toMatch(/production/);
    expect(warnings[0]).not.toContain(generated.toString('base64'));
    expect(warnings[0]).not.toContain(generated.toString('hex'));

    const reused = await loadLocalMasterKey({ dataDir: nestedDataDir, production: false, log });
    expect(reused.equals(generated)).toBe(true);
    expect(warnings).toHaveLength(2);
    expect(warnings[1]).toMatch(/Using the development master key at/);
    expect(warnings[1]).not.toContain(generated.toString('base64'));
  });

  test('concurrent first starts agree on one key', async () => {
    const keys = await Promise.all(
      Array.from({ length: 8 }, () => loadLocalMasterKey({ dataDir, production: false, log })),
    );
    for (const key of keys) expect(key.equals(keys[0])).toBe(true);
    expect(warnings.filter((w) => w.startsWith('Generated'))).toHaveLength(1);
    expect(await fs.readdir(dataDir)).toEqual(['master.key']);
  });

  test('a configured KEYWARD_MASTER_KEY is used as is and no file is written', async () => {
    const configuredKey = randomBytes(32);
    for (const production of [false, true]) {
      const loaded = await loadLocalMasterKey({
        configured: configuredKey.toString('base64'),
        dataDir,
        production,
        log,
      });
      expect(loaded.equals(configuredKey)).toBe(true);
    }
    const unpadded = configuredKey.toString('base64').replace(/=+$/, '');
    expect(
      (await loadLocalMasterKey({ configured: `${unpadded}\n`, dataDir, production: false, log })).equals(
        configuredKey,
      ),
    ).toBe(true);
    expect(await fs.readdir(dataDir)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  test('production without a configured key throws and writes nothing', async () => {
    await expect(loadLocalMasterKey({ dataDir, production: true, log })).rejects.toThrow(
      /master key is required when NODE_ENV=production/,
    );
    expect(await fs.readdir(dataDir)).toEqual([]);
  });

  test('production refuses even an existing development key file', async () => {
    await loadLocalMasterKey({ dataDir, production: false, log });
    await expect(loadLocalMasterKey({ dataDir, production: true, log })).rejects.toThrow(/NODE_ENV=production/);
  });

  const badConfiguredValues: Array<[string, string]> = [
    ['not base64', 'this-is-not-base64-at-all!!'],
    ['31 bytes', randomBytes(31).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['hex instead of base64', randomBytes(32).toString('hex')],
    ['base64url alphabet', Buffer.alloc(32, 0xfb).toString('base64url')],
    ['non-canonical padding bits', `${Buffer.alloc(32, 7).toString('base64').slice(0, 42)}B=`],
    ['empty', ''],
  ];
  test.each(badConfiguredValues)('a configured key that is %s is refused without echoing it', async (_label, value) => {
    let thrown: unknown;
    try {
      await loadLocalMasterKey({ configured: value, dataDir, production: false, log });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    const message = (thrown as Error).message;
    expect(message).toMatch(/KEYWARD_MASTER_KEY must be base64 of 32 bytes/);
    if (value !== '') expect(message).not.toContain(value);
    expect(await fs.readdir(dataDir)).toEqual([]);
  });

  test.each([
    ['644', 0o644],
    ['640', 0o640],
    ['604', 0o604],
    ['660', 0o660],
  ])('a key file with mode %s is refused with the chmod fix', async (_octal, mode) => {
    const keyPath = path.join(dataDir, 'master.key');
    const key = randomBytes(32);
    await fs.writeFile(keyPath, key.toString('base64'), { mode: 0o600 });
    await fs.chmod(keyPath, mode);

    let thrown: unknown;
    try {
      await loadLocalMasterKey({ dataDir, production: false, log });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    const message = (thrown as Error).message;
    expect(message).toContain(keyPath);
    expect(message).toContain(`chmod 600 ${keyPath}`);
    expect(message).not.toContain(key.toString('base64'));
    expect(warnings).toEqual([]);

    await fs.chmod(keyPath, 0o600);
    expect((await loadLocalMasterKey({ dataDir, production: false, log })).equals(key)).toBe(true);
  });

  test('a key file with invalid content is refused without echoing it', async () => {
    const keyPath = path.join(dataDir, 'master.key');
    const content = randomBytes(24).toString('base64');
    await fs.writeFile(keyPath, content, { mode: 0o600 });
    await expect(loadLocalMasterKey({ dataDir, production: false, log })).rejects.toThrow(
      `${keyPath} must contain base64 of 32 bytes`,
    );
    await expect(loadLocalMasterKey({ dataDir, production: false, log })).rejects.not.toThrow(content);
    expect(await fs.readFile(keyPath, 'utf8')).toBe(content);
  });

  test('the loaded key works with LocalKeyring across restarts', async () => {
    const first = new LocalKeyring(await loadLocalMasterKey({ dataDir, production: false, log }));
    const generated = await first.generateDataKey(TENANT);
    const second = new LocalKeyring(await loadLocalMasterKey({ dataDir, production: false, log }));
    expect(second.masterKeyId).toBe(first.masterKeyId);
    expect((await second.unwrapDataKey(TENANT, generated)).equals(generated.plaintext)).toBe(true);
  });
});
