import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBearerToken } from '../../src/auth/bearer-token';
import { runKeyward, ensureCliBuilt } from '../support/audit-cli';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { chat, uniqueText } from '../support/chat-harness';
import { anthropicKey, createTenantWithAdmin, storeAnthropicKey } from '../support/fixtures';
import { ok } from '../support/graphql-client';
import {
  freePort,
  killAllGateways,
  requireBuiltMain,
  spawnGateway,
  type GatewayProcess,
} from '../support/gateway-process';

/**
 * The embedded database (no DATABASE_URL), docs/security.md "Embedded database" and
 * docs/operations.md "Embedded database": no TCP listener but the gateway's own port, the data
 * dir and everything in it owner-only (an earlier install's loose modes fixed at start), one
 * process per data dir, the bootstrap token shown even when the first start fails to bind, and
 * a damaged database named with what to do.
 */

jest.setTimeout(180_000);

const LISTENING = /Keyward listening on (http:\/\/127\.0\.0\.1:\d+\/graphql)/;
const BOOTSTRAP_TOKEN = /Bootstrap PLATFORM_ADMIN token[^\n]*\n\s*\n\s*(kw_[A-Za-z0-9_-]{20,})/;

let anthropic: AnthropicServer;
const scratchDirs: string[] = [];
const scratchDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
};

beforeAll(async () => {
  requireBuiltMain();
  await ensureCliBuilt();
  anthropic = await startAnthropicServer();
});

afterAll(async () => {
  await killAllGateways();
  await anthropic?.close();
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

/** The gateway as an operator runs it in development: embedded database, generated master key. */
const startDev = (dataDir: string, port: number, env: Record<string, string> = {}): GatewayProcess =>
  spawnGateway({
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    KEYWARD_DATA_DIR: dataDir,
    ANTHROPIC_BASE_URL: anthropic.baseURL,
    LOG_LEVEL: 'info',
    ...env,
  });

async function startListening(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<{ proc: GatewayProcess; url: string; port: number }> {
  const port = await freePort();
  const proc = startDev(dataDir, port, env);
  const [, url] = await proc.waitForStdout(LISTENING);
  return { proc, url, port };
}

/** `keyward <args>` on the embedded data dir, with no DATABASE_URL. */
const keywardOn = (dataDir: string, args: string[]) =>
  runKeyward(args, {
    DATABASE_URL: undefined,
    KEYWARD_MASTER_KEY: undefined,
    NODE_ENV: 'development',
    KEYWARD_DATA_DIR: dataDir,
  });

/** TCP ports a process listens on: its socket inodes (/proc/<pid>/fd) in the LISTEN rows of /proc/net/tcp{,6}. */
function listeningTcpPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // closed while listing
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').trim().split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      const [local, state, inode] = [columns[1], columns[3], columns[9]];
      if (state === '0A' && inodes.has(inode)) ports.push(parseInt(local.split(':')[1], 16));
    }
  }
  return ports.sort((a, b) => a - b);
}

/** Every path under `dir` (itself included, symbolic links excepted) that group or others may use. */
function notOwnerOnly(dir: string): string[] {
  const found: string[] = [];
  const visit = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    if (stat.mode & 0o077) found.push(`${path} ${(stat.mode & 0o7777).toString(8)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dir);
  return found;
}

const modeOf = (path: string): number => lstatSync(path).mode & 0o7777;

const jsonLogLines = (stdout: string): Array<Record<string, any>> =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>);

/** A pid no process has: one of a process that has just exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('a data dir left world-readable by an earlier install', () => {
  let dataDir: string;
  let platformToken: string;
  let running: { proc: GatewayProcess; url: string; port: number } | undefined;

  beforeAll(() => {
    dataDir = join(scratchDir('keyward-embedded-'), 'data');
    mkdirSync(join(dataDir, 'pgdata'), { recursive: true, mode: 0o755 });
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'pgdata'), 0o755);
    writeFileSync(join(dataDir, 'notes.txt'), 'left by an earlier version\n', { mode: 0o644 });
  });

  test('a first start whose port is taken prints the bootstrap token before failing, and makes the data dir owner-only', async () => {
    const blocker: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    try {
      const proc = startDev(dataDir, port);
      expect(await proc.exited).toBe(1);
      expect(proc.stderr).toMatch(/failed to start: .*EADDRINUSE/);
      [, platformToken] = proc.stdout.match(BOOTSTRAP_TOKEN) ?? [];
      expect(platformToken).toBeDefined();

      const fixed = jsonLogLines(proc.stdout).find((line) => /accessible to group or others/.test(line.msg));
      expect(fixed).toMatchObject({ level: 40, dataDir });
      expect(fixed!.paths).toEqual(
        expect.arrayContaining([
          `${dataDir} 0755 -> 0700`,
          `${join(dataDir, 'pgdata')} 0755 -> 0700`,
          `${join(dataDir, 'notes.txt')} 0644 -> 0600`,
        ]),
      );
      expect(modeOf(dataDir)).toBe(0o700);
      expect(modeOf(join(dataDir, 'notes.txt'))).toBe(0o600);
      expect(existsSync(join(dataDir, 'keyward.lock'))).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test('the next start: the printed token works; the only TCP listener is the gateway port; the socket directory is 0700', async () => {
    running = await startListening(dataDir);
    const gw = { url: running.url };
    expect((await ok(gw, platformToken, '{ me { role } }')).me.role).toBe('PLATFORM_ADMIN');

    expect(listeningTcpPorts(running.proc.child.pid!)).toEqual([running.port]);
    const socketDirectory = join(dataDir, 'run');
    expect(jsonLogLines(running.proc.stdout).find((line) => line.socketDirectory)).toMatchObject({
      dataDir,
      socketDirectory,
    });
    expect(modeOf(socketDirectory)).toBe(0o700);
    expect(lstatSync(join(socketDirectory, '.s.PGSQL.5432')).isSocket()).toBe(true);
    expect(modeOf(join(socketDirectory, '.s.PGSQL.5432'))).toBe(0o600);
    expect(running.proc.stdout).not.toMatch(/Bootstrap PLATFORM_ADMIN token/);
  });

  test('after a chat, nothing in the data dir (WAL included) is open to group or others', async () => {
    const gw = { url: running!.url, wsUrl: running!.url.replace(/^http/, 'ws'), platformToken };
    const tenant = await createTenantWithAdmin(gw as never, 'embedded-modes');
    await storeAnthropicKey(gw, tenant.adminToken, 'TENANT', anthropicKey());
    const run = await chat(gw, tenant.adminToken, { message: uniqueText('private') });
    expect(run.completed).toBeDefined();

    const wal = readdirSync(join(dataDir, 'pgdata', 'pg_wal')).filter((name) => /^[0-9A-F]{24}$/.test(name));
    expect(wal.length).toBeGreaterThan(0);
    expect(notOwnerOnly(dataDir)).toEqual([]);
  });

  test('a second gateway, or a command, on the same data dir exits at once naming the holder', async () => {
    const holder = running!.proc.child.pid!;
    const second = startDev(dataDir, await freePort());
    expect(await second.exited).toBe(1);
    expect(second.stderr).toContain(`the data dir ${dataDir} is in use by process ${holder}`);
    expect(second.stdout).not.toMatch(/listening/i);

    const command = await keywardOn(dataDir, ['admin-token']);
    expect(command.code).toBe(2);
    expect(command.stdout).toBe('');
    expect(command.stderr).toContain(`the data dir ${dataDir} is in use by process ${holder}`);

    // The holder is untouched.
    expect((await ok({ url: running!.url }, platformToken, '{ me { role } }')).me.role).toBe('PLATFORM_ADMIN');
  });

  test('once stopped, the lock is gone; a stale lock (dead pid) is taken over; admin-token issues a working token', async () => {
    running!.proc.child.kill('SIGTERM');
    expect(await running!.proc.exited).toBe(0);
    expect(existsSync(join(dataDir, 'keyward.lock'))).toBe(false);

    writeFileSync(join(dataDir, 'keyward.lock'), `${deadPid()}\n`, { mode: 0o600 });
    const issued = await keywardOn(dataDir, ['admin-token']);
    expect(issued.code).toBe(0);
    const adminToken = issued.stdout.trim();
    expect(adminToken).toMatch(/^kw_/);
    expect(existsSync(join(dataDir, 'keyward.lock'))).toBe(false);

    running = await startListening(dataDir);
    expect((await ok({ url: running.url }, adminToken, '{ me { role } }')).me.role).toBe('PLATFORM_ADMIN');
    running.proc.child.kill('SIGTERM');
    expect(await running.proc.exited).toBe(0);
    expect(notOwnerOnly(dataDir)).toEqual([]);
  });
});

describe('a data dir whose path is too long for a Unix socket', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = join(scratchDir('keyward-long-'), 'd'.repeat(100));
  });

  test('the socket goes to a new 0700 directory under the temporary directory, removed at stop', async () => {
    const platformToken = generateBearerToken();
    const { proc, url, port } = await startListening(dataDir, { KEYWARD_BOOTSTRAP_TOKEN: platformToken });
    expect((await ok({ url }, platformToken, '{ me { role } }')).me.role).toBe('PLATFORM_ADMIN');
    expect(listeningTcpPorts(proc.child.pid!)).toEqual([port]);
    const { socketDirectory } = jsonLogLines(proc.stdout).find((line) => line.socketDirectory)!;
    expect(socketDirectory.startsWith(join(tmpdir(), 'keyward-'))).toBe(true);
    expect(modeOf(socketDirectory)).toBe(0o700);
    expect(modeOf(dataDir)).toBe(0o700);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(existsSync(socketDirectory)).toBe(false);
  });

  test('a damaged database: the start fails naming the data dir and what to do', async () => {
    truncateSync(join(dataDir, 'pgdata', 'global', 'pg_control'), 0);
    const proc = startDev(dataDir, await freePort());
    expect(await proc.exited).toBe(1);
    expect(proc.stderr).toContain(`the embedded database in ${join(dataDir, 'pgdata')} failed to start`);
    expect(proc.stderr).toContain(`Stop every process using ${dataDir} and keep a copy of it`);
    expect(proc.stderr).toContain('docs/operations.md');
    expect(existsSync(join(dataDir, 'keyward.lock'))).toBe(false);
  });
});
