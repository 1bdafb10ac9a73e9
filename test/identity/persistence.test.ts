import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueEmail, uniqueName } from '../support/fixtures';
import { ok } from '../support/graphql-client';
import {
  freePort,
  killAllGateways,
  requireBuiltMain,
  spawnGateway,
  type GatewayProcess,
} from '../support/gateway-process';

jest.setTimeout(120_000);

const LISTENING = /Keyward listening on (http:\/\/127\.0\.0\.1:\d+\/graphql)/;
const BOOTSTRAP_TOKEN = /Bootstrap PLATFORM_ADMIN token[^\n]*\n\s*\n\s*(kw_[A-Za-z0-9_-]{20,})/;

let dataDir: string;
const scratchDirs: string[] = [];
const scratchDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
};

beforeAll(() => {
  requireBuiltMain();
  dataDir = scratchDir('keyward-persist-');
});
afterAll(async () => {
  await killAllGateways();
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

/** The gateway as an operator runs it in development: embedded database, generated master key. */
async function startDevGateway(): Promise<{ proc: GatewayProcess; url: string }> {
  const port = await freePort();
  const proc = spawnGateway({
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    KEYWARD_DATA_DIR: dataDir,
  });
  const [, url] = await proc.waitForStdout(LISTENING);
  expect(url).toBe(`http://127.0.0.1:${port}/graphql`);
  return { proc, url };
}

async function stopWithSigterm(proc: GatewayProcess): Promise<void> {
  proc.child.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
}

test('state survives a restart: bootstrap token printed once, token and tenant still there', async () => {
  // First start: an empty data dir.
  const first = await startDevGateway();
  const [, platformToken] = await first.proc.waitForStdout(BOOTSTRAP_TOKEN);
  const gw = { url: first.url };
  expect((await ok(gw, platformToken, '{ me { role } }')).me.role).toBe('PLATFORM_ADMIN');

  const name = uniqueName('Persisted');
  const created = (
    await ok(
      gw,
      platformToken,
      'mutation ($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } admin { id } token } }',
      {
        input: { name, adminEmail: uniqueEmail('persist') },
      },
    )
  ).createTenant;
  await stopWithSigterm(first.proc);
  expect(first.proc.stderr).not.toMatch(/error|failed/i);

  // The data dir holds the generated development master key, readable by its owner only.
  const keyFile = statSync(join(dataDir, 'master.key'));
  expect(keyFile.isFile()).toBe(true);
  expect(keyFile.mode & 0o777).toBe(0o600);

  // Second start on the same data dir.
  const second = await startDevGateway();
  const again = { url: second.url };
  expect((await ok(again, platformToken, '{ me { role } }')).me.role).toBe('PLATFORM_ADMIN');
  const tenant = await ok(again, created.token, '{ tenant { id name } users { id role } }');
  expect(tenant.tenant).toEqual({ id: created.tenant.id, name });
  expect(tenant.users).toEqual([{ id: created.admin.id, role: 'TENANT_ADMIN' }]);
  await stopWithSigterm(second.proc);

  // Checked after exit, so every byte the process wrote has been read.
  expect(second.proc.stdout).not.toMatch(/Bootstrap PLATFORM_ADMIN token/);
  expect(second.proc.stdout).not.toContain(platformToken);
  expect(second.proc.stdout).not.toMatch(/kw_[A-Za-z0-9_-]{20,}/);
  expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
});

describe('invalid configuration exits non-zero and names the variable', () => {
  const secret = `tooShortKey${Date.now().toString(36)}`;

  test.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'not-a-url'],
    ['DATABASE_URL', 'mysql://db.example.test/keyward'],
    ['KEYWARD_MASTER_KEY', secret],
    ['LOG_LEVEL', 'chatty'],
  ])('%s=%s', async (variable, value) => {
    const proc = spawnGateway({
      NODE_ENV: 'development',
      PORT: '4000',
      KEYWARD_DATA_DIR: scratchDir('keyward-badconf-'),
      [variable]: value,
    });
    const code = await proc.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(proc.stderr.split('\n').some((line) => line.includes(variable))).toBe(true);
    expect(proc.stderr + proc.stdout).not.toContain(value);
    expect(proc.stdout).not.toMatch(/listening/i);
  });
});
