import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'keyward.js');

/** The compiled files the audit commands run, and their sources. */
const SOURCE_DIRS = ['src/cli', 'src/audit'];

function stale(): boolean {
  if (!existsSync(CLI)) return true;
  for (const dir of SOURCE_DIRS) {
    for (const file of readdirSync(join(ROOT, dir))) {
      if (!file.endsWith('.ts')) continue;
      const compiled = join(ROOT, 'dist', dir, file.replace(/\.ts$/, '.js'));
      if (!existsSync(compiled) || statSync(compiled).mtimeMs < statSync(join(ROOT, dir, file)).mtimeMs) return true;
    }
  }
  return false;
}

/** Builds dist (`npx tsc -p tsconfig.build.json`) when the CLI is missing or older than its audit/cli sources. */
export async function ensureCliBuilt(): Promise<void> {
  if (!stale()) return;
  await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; stderr?: string }) => {
    // tsc still emits on type errors elsewhere in the tree; only a missing CLI is fatal.
    if (!existsSync(CLI)) throw new Error(`build failed: ${error.stdout ?? ''}${error.stderr ?? ''}`);
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/cli/keyward.js <args>` on the run's test database. */
export function runKeyward(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const databaseUrl = process.env.KEYWARD_TEST_DATABASE_URL;
  if (!databaseUrl) throw new Error('KEYWARD_TEST_DATABASE_URL is not set: run the tests through jest');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'test',
        DATABASE_URL: databaseUrl,
        KEYWARD_MASTER_KEY: process.env.KEYWARD_TEST_MASTER_KEY,
        KEYWARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'keyward-cli-')),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

export const jsonLines = (stdout: string): Array<Record<string, any>> =>
  stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, any>);
