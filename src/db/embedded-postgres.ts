import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../common/logger';
import { createPrivateDirectory, formatMode, makeOwnerOnly, type ModeChange } from './data-dir';
import { lockDataDir } from './data-dir-lock';
import { ownerOnlyNodeFS } from './owner-only-nodefs';
import { keepProtocolBatchesTogether } from './pglite-batch-queue';

export interface EmbeddedPostgres {
  /** postgres:// URL of the Unix socket in front of PGlite (the host is the socket's directory). */
  url: string;
  /** The socket's directory, mode 0700. */
  socketDirectory: string;
  stop(): Promise<void>;
}

/** The port only names the socket file, as PostgreSQL's clients expect: `<dir>/.s.PGSQL.<port>`. */
const SOCKET_PORT = 5432;
const SOCKET_FILE = `.s.PGSQL.${SOCKET_PORT}`;
/** A Unix socket path must fit sun_path: 108 bytes on Linux, 104 on macOS, with the final NUL. */
const MAX_SOCKET_PATH_BYTES = 103;

/** PGlite failed while opening its files; the message says where and what to do. */
export class EmbeddedDatabaseError extends Error {
  constructor(dataDir: string, pgdata: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `the embedded database in ${pgdata} failed to start (${detail}). Its files may be damaged, for example by ` +
        `two processes that used the data dir at once or by a full disk. Stop every process using ${dataDir} and ` +
        `keep a copy of it; then restore ${pgdata} from a backup, or move it aside to start with an empty database ` +
        `(keep ${join(dataDir, 'master.key')}). See "Embedded database" in docs/operations.md`,
      { cause },
    );
    this.name = 'EmbeddedDatabaseError';
  }
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly) persisted under `dataDir/pgdata`, reached through a
 * Unix socket in a directory only the owner can enter, so the application talks to it exactly as
 * it would to a PostgreSQL server and no other local user can. The data dir is locked for this
 * process, and it and everything in it are owner-only. PGlite runs one query at a time, so
 * inside a transaction only that transaction's connection may be used (another would deadlock).
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  maxConnections = 16,
  log?: Logger,
): Promise<EmbeddedPostgres> {
  createPrivateDirectory(dataDir);
  const lock = lockDataDir(dataDir);
  const undo: Array<() => unknown> = [() => lock.release()];
  try {
    reportModeChanges(makeOwnerOnly(dataDir), dataDir, log);
    const pgdata = join(dataDir, 'pgdata');
    createPrivateDirectory(pgdata);
    const socket = socketDirectory(dataDir);
    undo.push(socket.remove);

    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    let db: InstanceType<typeof PGlite>;
    try {
      db = await PGlite.create({ fs: await ownerOnlyNodeFS(pgdata) });
    } catch (error) {
      throw new EmbeddedDatabaseError(dataDir, pgdata, error);
    }
    undo.push(() => db.close());
    const socketPath = join(socket.directory, SOCKET_FILE);
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections });
    keepProtocolBatchesTogether(server);
    undo.push(() => server.stop());
    await server.start();
    chmodSync(socketPath, 0o600);
    return {
      url: `postgres://postgres@${encodeURIComponent(socket.directory)}:${SOCKET_PORT}/postgres`,
      socketDirectory: socket.directory,
      stop: () => runInReverse(undo),
    };
  } catch (error) {
    await runInReverse(undo).catch(() => undefined);
    throw error;
  }
}

/** Runs every step, last first, even when one fails; then throws the first failure. */
async function runInReverse(steps: Array<() => unknown>): Promise<void> {
  let failure: unknown;
  for (const step of steps.splice(0).reverse()) {
    try {
      await step();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}

/**
 * `<dataDir>/run` when the socket's path fits, else a new directory in the system's temporary
 * directory; either mode 0700. A socket file left by a process that was killed is removed (the
 * data dir lock says nobody else uses it).
 */
function socketDirectory(dataDir: string): { directory: string; remove: () => void } {
  const inDataDir = join(dataDir, 'run');
  if (Buffer.byteLength(join(inDataDir, SOCKET_FILE)) <= MAX_SOCKET_PATH_BYTES) {
    createPrivateDirectory(inDataDir);
    const remove = () => rmSync(join(inDataDir, SOCKET_FILE), { force: true });
    remove();
    return { directory: inDataDir, remove };
  }
  const directory = mkdtempSync(join(tmpdir(), 'keyward-'));
  if (Buffer.byteLength(join(directory, SOCKET_FILE)) > MAX_SOCKET_PATH_BYTES) {
    rmSync(directory, { recursive: true, force: true });
    throw new Error(
      `no place for the embedded database's socket: both ${inDataDir} and ${tmpdir()} are too long a path; set TMPDIR to a short one`,
    );
  }
  return { directory, remove: () => rmSync(directory, { recursive: true, force: true }) };
}

function reportModeChanges(changes: ModeChange[], dataDir: string, log?: Logger): void {
  if (changes.length === 0) return;
  const shown = changes.slice(0, 20).map(({ path, from, to }) => `${path} ${formatMode(from)} -> ${formatMode(to)}`);
  log?.warn(
    { dataDir, changed: changes.length, paths: shown },
    'the data dir was accessible to group or others: made it and everything in it owner-only',
  );
}
