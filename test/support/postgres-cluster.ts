import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './gateway-process';
import { waitForPostgres } from './wait-for-postgres';

/** Where Debian's PostgreSQL server packages put their binaries, one directory per major version. */
const DEBIAN_POSTGRESQL = '/usr/lib/postgresql';

export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, trust authentication. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A throwaway PostgreSQL server (initdb in a temporary directory, then `postgres` on a free
 * loopback port, fsync off), for the suites that need what the embedded database cannot give:
 * one backend per connection (LISTEN on a session of its own, PgBouncer in front, a backend to
 * terminate). Uses the newest server of Debian's packages; as root, runs it as `postgres`, the
 * user those packages create. Stopped with SIGINT (PostgreSQL's fast shutdown).
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = newestServerBin();
  // PostgreSQL refuses to run as root: as root, both programs run as `postgres`.
  const owner: { uid?: number; gid?: number } =
    userInfo().uid === 0 ? { uid: postgresId('-u'), gid: postgresId('-g') } : {};
  const dir = mkdtempSync(join(tmpdir(), 'keyward-pg-cluster-'));
  if (owner.uid !== undefined && owner.gid !== undefined) chownSync(dir, owner.uid, owner.gid);

  const init = spawnSync(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust'], {
    ...owner,
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);

  const port = await freePort();
  const args = [
    '-D',
    join(dir, 'data'),
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${dir}`,
    '-c',
    'fsync=off',
    '-c',
    'max_connections=200',
  ];
  const child: ChildProcess = spawn(join(bin, 'postgres'), args, { ...owner, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitForPostgres(url, child, () => stderr, 'postgres');
  return {
    url,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function newestServerBin(): string {
  const versions = existsSync(DEBIAN_POSTGRESQL)
    ? readdirSync(DEBIAN_POSTGRESQL)
        .filter((name) => existsSync(join(DEBIAN_POSTGRESQL, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      `No PostgreSQL server binaries in ${DEBIAN_POSTGRESQL}: apt-get install postgresql, ` +
        'or set DATABASE_URL to a PostgreSQL server for the tests',
    );
  }
  return join(DEBIAN_POSTGRESQL, versions[0], 'bin');
}

/** The uid or gid of the `postgres` user that Debian's server packages create. */
const postgresId = (flag: '-u' | '-g'): number => {
  const id = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error('No postgres user to run PostgreSQL as: apt-get install postgresql');
  return Number(id.stdout);
};

/** Whether the run's test database is the embedded one (its URL's host is a socket directory). */
export const runsOnEmbeddedDatabase = (url: string): boolean =>
  decodeURIComponent(new URL(url).hostname).startsWith('/');

/** The server a suite runs on, for its last teardown hook. */
export interface ServerWithBackends {
  /** Stops the throwaway server, if one was started: register it after the file's own afterAll hooks (jest runs them in order). */
  stop(): Promise<void>;
}

/**
 * For a suite that needs one PostgreSQL backend per connection: on the run's server as it is; on
 * the embedded database (PGlite, one backend for every connection), on a throwaway server of its
 * own for the file's duration. Call at the top of the file, before its other hooks, and register
 * `afterAll(() => server.stop())` after its other teardown (a server stopped under its clients
 * would make PgBouncer report "server conn crashed?" to them).
 */
export function onServerWithBackends(): ServerWithBackends {
  let cluster: PostgresCluster | null = null;
  let runDatabase: string | undefined;
  beforeAll(async () => {
    runDatabase = process.env.KEYWARD_TEST_DATABASE_URL;
    if (!runDatabase || !runsOnEmbeddedDatabase(runDatabase)) return;
    cluster = await startPostgresCluster();
    process.env.KEYWARD_TEST_DATABASE_URL = cluster.url;
  }, 60_000);
  return {
    stop: async () => {
      if (!cluster) return;
      process.env.KEYWARD_TEST_DATABASE_URL = runDatabase;
      await cluster.stop();
      cluster = null;
    },
  };
}
