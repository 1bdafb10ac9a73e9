/**
 * A real gateway as a child process (`node dist/src/main.js`), so that its memory and CPU can be
 * read from /proc without the bench's own clients and local upstream in the numbers.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { generateBearerToken } from '../../src/auth/bearer-token';

/** dist/src/main.js, next to this file's compiled copy in dist/bench/support. */
export const MAIN_JS = resolve(__dirname, '../../src/main.js');

/** A database for one gateway: a new one on the server in DATABASE_URL, else PGlite in a temp dir. */
export interface BenchDatabase {
  env: Record<string, string>;
  kind: string;
  dataDir?: string;
  cleanup: () => Promise<void>;
}

export async function benchDatabase(): Promise<BenchDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyward-bench-'));
    return {
      env: { KEYWARD_DATA_DIR: dataDir },
      kind: 'embedded PGlite (in the gateway process)',
      dataDir,
      cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `keyward_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    kind: 'PostgreSQL server (DATABASE_URL)',
    cleanup: async () => {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface ProcSample {
  /** Resident set size now, bytes (VmRSS). */
  rss: number;
  /** Peak resident set size since the process started, bytes (VmHWM). */
  hwm: number;
  /** User + system CPU time since the process started, seconds. */
  cpuSeconds: number;
}

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep 100, the Linux default
}

/** VmRSS, VmHWM and utime+stime of a process, from /proc. */
export function readProc(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), cpuSeconds: ticks / clockTicks };
}

export interface LogTally {
  warn: number;
  error: number;
  /** The first few warning/error messages (msg and code/err only), for the report. */
  samples: string[];
}

export interface GatewayChild {
  pid: number;
  url: string;
  wsUrl: string;
  base: string;
  /** Bootstrap PLATFORM_ADMIN token. */
  platformToken: string;
  database: string;
  dataDir?: string;
  logs: LogTally;
  readonly stderr: string;
  proc(): ProcSample;
  /** Values of unlabelled metrics from /metrics (e.g. keyward_chat_streams_open). */
  metrics(names: string[]): Promise<Record<string, number>>;
  /** SIGTERM (drain), then SIGKILL after `timeoutMs`; removes the database. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export interface GatewayChildOptions {
  /** ANTHROPIC_BASE_URL; other providers' base URLs and platform keys go in `env`. */
  upstreamBaseUrl?: string;
  env?: Record<string, string>;
  /** Node flags for the child, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']; default from BENCH_GATEWAY_NODE_FLAGS. */
  nodeFlags?: string[];
  /**
   * Replicas: one database, master key and bootstrap token shared by several children. The
   * database is then the caller's to clean up; by default each child gets its own.
   */
  shared?: { database: BenchDatabase; masterKey: string; platformToken: string };
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export async function startGatewayChild(options: GatewayChildOptions): Promise<GatewayChild> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
  const database = options.shared?.database ?? (await benchDatabase());
  const cleanupDatabase = options.shared ? async () => undefined : database.cleanup;
  const port = await freePort();
  const platformToken = options.shared?.platformToken ?? generateBearerToken();
  const nodeFlags = options.nodeFlags ?? process.env.BENCH_GATEWAY_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeFlags, MAIN_JS], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      KEYWARD_MASTER_KEY: options.shared?.masterKey ?? randomBytes(32).toString('base64'),
      KEYWARD_BOOTSTRAP_TOKEN: platformToken,
      ...(options.upstreamBaseUrl ? { ANTHROPIC_BASE_URL: options.upstreamBaseUrl } : {}),
      LOG_LEVEL: process.env.BENCH_GATEWAY_LOG_LEVEL ?? 'warn',
      KEYWARD_MAX_STREAMS_PER_USER: '100000',
      KEYWARD_MAX_STREAMS_PER_TENANT: '100000',
      KEYWARD_DRAIN_SECONDS: '5',
      KEYWARD_SHUTDOWN_GRACE_SECONDS: '2',
      ...database.env,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const logs: LogTally = { warn: 0, error: 0, samples: [] };
  let stderr = '';
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      let entry: { level?: number; msg?: string; code?: string; networkCode?: string; err?: { message?: string } };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if ((entry.level ?? 0) >= 50) logs.error++;
      else if ((entry.level ?? 0) >= 40) logs.warn++;
      else continue;
      if (logs.samples.length < 10) {
        logs.samples.push(
          `${entry.level! >= 50 ? 'error' : 'warn'}: ${entry.msg}${entry.code ? ` (${entry.code}${entry.networkCode ? ` ${entry.networkCode}` : ''})` : ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`,
        );
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolveExit(code);
    }),
  );

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await cleanupDatabase();
      throw new Error(`gateway exited (${child.exitCode ?? child.signalCode}) before it was ready\n${stderr}`);
    }
    try {
      const response = await fetch(`${base}/readyz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await cleanupDatabase();
      throw new Error(`gateway not ready after 120 s\n${stderr}`);
    }
    await sleep(100);
  }

  return {
    pid: child.pid!,
    url: `${base}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    base,
    platformToken,
    database: database.kind,
    dataDir: database.dataDir,
    logs,
    get stderr() {
      return stderr;
    },
    proc: () => readProc(child.pid!),
    async metrics(names) {
      const text = await (await fetch(`${base}/metrics`)).text();
      const values: Record<string, number> = {};
      for (const name of names) {
        const match = new RegExp(`^${name}(?:\\{\\})? (\\S+)$`, 'm').exec(text);
        values[name] = match ? Number(match[1]) : NaN;
      }
      return values;
    },
    async stop(timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }
      await cleanupDatabase();
      return child.exitCode;
    },
  };
}
