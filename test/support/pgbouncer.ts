import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './gateway-process';
import { waitForPostgres } from './wait-for-postgres';

/** Debian's package (`apt-get install pgbouncer`; .ci/run installs it). */
export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

export interface PgBouncer {
  /** `serverUrl` with host and port replaced by the pooler's. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A real PgBouncer in front of `serverUrl`'s PostgreSQL, in the given pool mode. It trusts every
 * client (auth_type any) and logs in to the server as the URL's user, so it needs a server that
 * trusts that user on loopback, as the test server does.
 */
export async function startPgBouncer(
  serverUrl: string,
  poolMode: 'session' | 'transaction',
  /** Default: a free one. Given: a restart on the port of a stopped PgBouncer. */
  listenPort?: number,
): Promise<PgBouncer> {
  if (!existsSync(PGBOUNCER_BIN)) {
    throw new Error(`${PGBOUNCER_BIN} is missing: apt-get install pgbouncer (.ci/run does)`);
  }
  const server = new URL(serverUrl);
  const port = listenPort ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'keyward-pgbouncer-'));
  const user = decodeURIComponent(server.username) || 'postgres';
  const password = server.password ? ` password=${decodeURIComponent(server.password)}` : '';
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432} user=${user}${password}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      `pool_mode = ${poolMode}`,
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
    ].join('\n'),
  );
  // PgBouncer refuses to run as root; it then needs -u and a directory that user can write.
  const asRoot = userInfo().uid === 0;
  if (asRoot) chmodSync(dir, 0o777);
  const child: ChildProcess = spawn(PGBOUNCER_BIN, [...(asRoot ? ['-u', 'nobody'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = new URL(serverUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  await waitForPostgres(url.toString(), child, () => stderr, 'pgbouncer', 100);

  return {
    url: url.toString(),
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
