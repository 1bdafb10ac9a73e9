import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE_NAME = 'keyward.lock';

/** Another live process holds the data dir. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `the data dir ${dataDir} is in use by process ${holderPid} (another Keyward server or command); ` +
        `stop it first, or give this one another KEYWARD_DATA_DIR. If no Keyward process has pid ${holderPid}, ` +
        `delete ${join(dataDir, LOCK_FILE_NAME)}`,
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  release(): void;
}

/** Lock files this process holds: a lock file naming our own pid but not in here is from an earlier life. */
const heldHere = new Set<string>();

/**
 * An exclusive lock on a data dir: a file holding the owner's pid, created atomically (written
 * aside, then hard-linked into place, so nobody ever reads it half-written). A lock whose pid is
 * no longer alive is stale and taken over. Throws DataDirLockedError when a live process holds it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const lockPath = join(dataDir, LOCK_FILE_NAME);
  const draft = join(dataDir, `.${LOCK_FILE_NAME}.${process.pid}.${randomBytes(4).toString('hex')}`);
  writeFileSync(draft, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        linkSync(draft, lockPath);
        heldHere.add(lockPath);
        return { release: () => release(lockPath) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = holderOf(lockPath);
      if (holder !== null && isAlive(holder, lockPath)) throw new DataDirLockedError(dataDir, holder);
      if (attempt >= 3) throw new Error(`could not lock the data dir ${dataDir}: ${lockPath} keeps reappearing`);
      rmSync(lockPath, { force: true });
    }
  } finally {
    rmSync(draft, { force: true });
  }
}

function release(lockPath: string): void {
  if (!heldHere.delete(lockPath)) return;
  if (holderOf(lockPath) === process.pid) rmSync(lockPath, { force: true });
}

function holderOf(lockPath: string): number | null {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

function isAlive(pid: number, lockPath: string): boolean {
  // After a restart in a fresh container the same pid is common: ours is alive only if we hold it.
  if (pid === process.pid) return heldHere.has(lockPath);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
