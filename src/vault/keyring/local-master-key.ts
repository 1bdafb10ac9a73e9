import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const MASTER_KEY_FILE_NAME = 'master.key';
const MASTER_KEY_BYTES = 32;
// 32 bytes are 43 base64 characters plus one '=' of padding (accepted with or without it).
const BASE64_OF_32_BYTES = /^[A-Za-z0-9+/]{43}=?$/;

export interface LoadLocalMasterKeyOptions {
  /** KEYWARD_MASTER_KEY: base64 of exactly 32 bytes. An empty string counts as set (and invalid). */
  configured?: string;
  /** KEYWARD_DATA_DIR: where a development key is kept when none is configured. */
  dataDir: string;
  /** NODE_ENV=production: a configured key is then mandatory. */
  production: boolean;
  log: { warn(msg: string): void };
}

/**
 * Returns the local master key (a new buffer the caller owns): KEYWARD_MASTER_KEY if set;
 * otherwise, outside production, a development key kept in `<dataDir>/master.key`
 * (generated on first use, mode 0600). Error messages never contain key material.
 */
export async function loadLocalMasterKey(options: LoadLocalMasterKeyOptions): Promise<Buffer> {
  if (options.configured !== undefined) {
    const key = decodeMasterKey(options.configured);
    if (key === undefined) {
      throw new Error('KEYWARD_MASTER_KEY must be base64 of 32 bytes (generate one with: openssl rand -base64 32)');
    }
    return key;
  }
  if (options.production) {
    throw new Error(
      'A master key is required when NODE_ENV=production: set KEYWARD_MASTER_KEY (base64 of 32 bytes) or KEYWARD_KMS_KEY_ID',
    );
  }

  const keyPath = path.resolve(options.dataDir, MASTER_KEY_FILE_NAME);
  const warnUsing = () =>
    options.log.warn(
      `Using the development master key at ${keyPath}. It must be replaced by KEYWARD_MASTER_KEY or AWS KMS (KEYWARD_KMS_KEY_ID) in production.`,
    );

  const existing = await readKeyFile(keyPath);
  if (existing !== undefined) {
    warnUsing();
    return existing;
  }

  const generated = await createKeyFile(keyPath);
  if (generated !== undefined) {
    options.log.warn(
      `Generated a development master key at ${keyPath}. It must be replaced by KEYWARD_MASTER_KEY or AWS KMS (KEYWARD_KMS_KEY_ID) in production.`,
    );
    return generated;
  }

  // Another process created the file between our read and our create: use its key, not ours.
  const createdConcurrently = await readKeyFile(keyPath);
  if (createdConcurrently === undefined)
    throw new Error(`${keyPath} disappeared while it was being created; start again`);
  warnUsing();
  return createdConcurrently;
}

function decodeMasterKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (!BASE64_OF_32_BYTES.test(trimmed)) return undefined;
  const key = Buffer.from(trimmed, 'base64');
  // Re-encoding rejects non-canonical spellings (non-zero padding bits) of the same bytes.
  if (key.length !== MASTER_KEY_BYTES || key.toString('base64') !== trimmed.padEnd(44, '=')) {
    key.fill(0);
    return undefined;
  }
  return key;
}

/** undefined when the file does not exist. */
async function readKeyFile(keyPath: string): Promise<Buffer | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(keyPath, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    // fstat of the open handle, so the file checked is the file read.
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${keyPath} is not a regular file`);
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new Error(
        `${keyPath} is accessible by group or others (mode ${(stat.mode & 0o777).toString(8)}); refusing to use it. Fix with: chmod 600 ${keyPath}`,
      );
    }
    const content = await handle.readFile();
    try {
      const key = decodeMasterKey(content.toString('utf8'));
      if (key === undefined) throw new Error(`${keyPath} must contain base64 of 32 bytes`);
      return key;
    } finally {
      content.fill(0);
    }
  } finally {
    await handle.close();
  }
}

/** undefined when another process created the key file first. */
async function createKeyFile(keyPath: string): Promise<Buffer | undefined> {
  const dataDir = path.dirname(keyPath);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(MASTER_KEY_BYTES);
  const tempPath = path.join(dataDir, `.${MASTER_KEY_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(tempPath, 'wx', 0o600);
    try {
      await handle.writeFile(`${key.toString('base64')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Publish with link rather than rename: both are atomic, but rename would silently replace
    // a key another process has just created (orphaning everything wrapped under it), while
    // link fails with EEXIST.
    try {
      await fs.link(tempPath, keyPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        key.fill(0);
        return undefined;
      }
      throw error;
    }
    await syncDirectory(dataDir);
    return key;
  } catch (error) {
    key.fill(0);
    throw error;
  } finally {
    await fs.rm(tempPath, { force: true });
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Not possible on every platform; the key file itself has already been synced.
  } finally {
    await handle?.close();
  }
}
