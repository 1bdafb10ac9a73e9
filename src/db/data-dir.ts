import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Permission bits of group and others: none may be set anywhere in the data dir. */
export const GROUP_OTHER_BITS = 0o077;

export interface ModeChange {
  path: string;
  from: number;
  to: number;
}

/** Creates `dir` and its missing parents mode 0700, so it is private before anything is written in it. */
export function createPrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Takes group and other permissions off `dir` and everything below it, so that a data dir from
 * an older version, or one made with a loose umask, becomes owner-only. Symbolic links are
 * neither followed nor changed. Returns what was changed, for the log.
 */
export function makeOwnerOnly(dir: string): ModeChange[] {
  const changes: ModeChange[] = [];
  const visit = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    const mode = stat.mode & 0o7777;
    if (mode & GROUP_OTHER_BITS) {
      const to = mode & ~GROUP_OTHER_BITS;
      chmodSync(path, to);
      changes.push({ path, from: mode, to });
    }
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dir);
  return changes;
}

export const formatMode = (mode: number): string => mode.toString(8).padStart(4, '0');
