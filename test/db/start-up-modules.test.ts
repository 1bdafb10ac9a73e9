import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateBearerToken } from '../../src/auth/bearer-token';
import { pendingMigrations } from '../../src/db/migrate';
import { openOrm } from '../../src/db/orm';
import { freePort, killAllGateways, spawnGateway } from '../support/gateway-process';
import { startIsolatedDatabase, type IsolatedDatabase } from '../support/vault-isolated-database';

/**
 * What a gateway that uses neither loads at start (docs/benchmarks.md, "Start-up memory"): the
 * migrator, when no migration is pending and also when one was (it runs in a child process),
 * the AWS SDK without KEYWARD_KMS_KEY_ID, ioredis without KEYWARD_REDIS_URL, Apollo's
 * federation tracing, class-validator's unused decorators and the OpenAI SDK's client.
 */
const NOT_LOADED = [
  'node_modules/@mikro-orm/migrations/',
  'node_modules/umzug/',
  'node_modules/@rushstack/',
  'node_modules/@aws-sdk/',
  'node_modules/ioredis/',
  'node_modules/@apollo/usage-reporting-protobuf/',
  'node_modules/libphonenumber-js/',
  'node_modules/validator/index.js',
  'node_modules/openai/client.js',
];
const PRELOAD = resolve(__dirname, '../support/loaded-modules.preload.js');

let database: IsolatedDatabase;
let scratch: string;

beforeAll(async () => {
  database = await startIsolatedDatabase('keyward_start_up');
  scratch = mkdtempSync(join(tmpdir(), 'keyward-start-up-'));
});

afterAll(async () => {
  await killAllGateways();
  await database?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Starts the built gateway on the database, waits until it serves, and lists the modules it loaded. */
async function modulesLoadedAtStart(run: string): Promise<string[]> {
  const file = join(scratch, `${run}.json`);
  const gateway = spawnGateway({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    DATABASE_URL: database.url,
    KEYWARD_MASTER_KEY: process.env.KEYWARD_TEST_MASTER_KEY!,
    KEYWARD_BOOTSTRAP_TOKEN: generateBearerToken(),
    NODE_OPTIONS: `--require ${PRELOAD}`,
    LOADED_MODULES_FILE: file,
  });
  await gateway.waitForStdout(/Web console: /);
  gateway.child.kill('SIGUSR2');
  for (let waited = 0; !existsSync(file); waited += 50) {
    if (waited > 10_000) throw new Error('the gateway did not list its modules');
    await new Promise((done) => setTimeout(done, 50));
  }
  gateway.child.kill('SIGTERM');
  expect(await gateway.exited).toBe(0);
  return JSON.parse(readFileSync(file, 'utf8')) as string[];
}

// Code only: MikroORM reads every installed @mikro-orm package's package.json, to compare versions.
const unneeded = (modules: string[]) =>
  modules.filter((path) => !path.endsWith('.json') && NOT_LOADED.some((part) => path.includes(part)));

test('neither a start that migrates a new database nor a restart on it loads what the gateway does not use', async () => {
  const first = await modulesLoadedAtStart('new-database');
  expect(first.some((path) => path.includes('node_modules/@mikro-orm/postgresql/'))).toBe(true);
  expect(unneeded(first)).toEqual([]);
  const orm = await openOrm({ url: database.url, entities: [] });
  try {
    expect(await pendingMigrations(orm)).toEqual([]);
  } finally {
    await orm.close();
  }
  expect(unneeded(await modulesLoadedAtStart('up-to-date'))).toEqual([]);
}, 240_000);
