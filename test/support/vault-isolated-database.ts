import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createDatabase, dropDatabase, serverUrl } from './test-database';

/**
 * A database of its own, for tests whose operations span every tenant (rewrapDataKeys re-wraps
 * every data key in the database; a KMS-only tenant would break another file's rewrap), so they
 * neither disturb nor are disturbed by the other test files sharing the run's database.
 *
 * With a PostgreSQL server (TEST_DATABASE_URL / DATABASE_URL): a fresh database on it.
 * Otherwise: PGlite behind its socket server in a child process, because PGlite cannot be loaded
 * inside a jest worker (its dynamic import fails there).
 */
export interface IsolatedDatabase {
  url: string;
  close(): Promise<void>;
}

const REPO_ROOT = resolve(__dirname, '../..');

// Plain JavaScript run by `node -e` in the repository root, so the packages resolve from there.
// It exits when the test process closes its stdin, so a crashed worker leaves no orphan behind.
const PGLITE_CHILD = `
const dir = process.argv[1];
(async () => {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 64 });
  await server.start();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try { await server.stop(); await db.close(); } finally { process.exit(0); }
  };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.stdout.write('URL ' + 'postgres://postgres@' + server.getServerConn() + '/postgres\\n');
})().catch((error) => { console.error(error); process.exit(1); });
`;

export async function startIsolatedDatabase(prefix = 'keyward_vault'): Promise<IsolatedDatabase> {
  const admin = serverUrl();
  if (admin) {
    const url = await createDatabase(admin, prefix);
    return {
      url,
      close: () => (process.env.KEYWARD_KEEP_TEST_DATABASE ? Promise.resolve() : dropDatabase(admin, url)),
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-vault-pg-'));
  const child = spawn(process.execPath, ['-e', PGLITE_CHILD, join(dataDir, 'pgdata')], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('embedded PostgreSQL did not start within 60 s')), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const match = /^URL (\S+)$/m.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`embedded PostgreSQL exited with code ${code} before it was ready`));
    });
  });
  return {
    url,
    close: async () => {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.stdin?.end();
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}
