import type { MikroORM } from '@mikro-orm/postgresql';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { migrationNames } from '../../migrations/names';
import { migrate, migrateInChildProcess, pendingMigrations } from '../../src/db/migrate';
import { openOrm } from '../../src/db/orm';
import { ROOT } from '../support/gateway-process';
import { startIsolatedDatabase, type IsolatedDatabase } from '../support/vault-isolated-database';

/** The compiled child script; `npm test` builds it first (pretest). */
const MIGRATE_PROCESS = resolve(ROOT, 'dist/src/db/migrate-process.js');

let database: IsolatedDatabase | undefined;
const orms: MikroORM[] = [];

/** A new, empty database of this test's own, and `count` ORMs on it. */
async function freshDatabase(count = 1): Promise<MikroORM[]> {
  database = await startIsolatedDatabase('keyward_migrate');
  const opened = await Promise.all(
    Array.from({ length: count }, () => openOrm({ url: database!.url, entities: [], poolMax: 3 })),
  );
  orms.push(...opened);
  return opened;
}

const recordedNames = async (orm: MikroORM): Promise<string[]> =>
  (await orm.em.getConnection().execute<{ name: string }[]>('select name from mikro_orm_migrations order by id')).map(
    ({ name }) => name,
  );

afterEach(async () => {
  await Promise.all(orms.splice(0).map((orm) => orm.close()));
  await database?.close();
  database = undefined;
});

test('names.ts lists every migration file, in order', () => {
  const files = readdirSync(resolve(ROOT, 'migrations'))
    .filter((file) => /^Migration\d+_\w+\.ts$/.test(file))
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();
  expect([...migrationNames]).toEqual(files);
});

test('on a new database every migration is pending; migrate applies them all, then none is', async () => {
  const [orm] = await freshDatabase();
  expect(await pendingMigrations(orm)).toEqual([...migrationNames]);
  expect(await migrate(orm)).toEqual([...migrationNames]);
  expect(await pendingMigrations(orm)).toEqual([]);
  expect(await migrate(orm)).toEqual([]);
  expect(await recordedNames(orm)).toEqual([...migrationNames]);
}, 120_000);

test('two starters migrating in child processes at once apply each migration exactly once', async () => {
  const [first, second] = await freshDatabase(2);
  const [a, b] = await Promise.all([
    migrateInChildProcess(first, MIGRATE_PROCESS),
    migrateInChildProcess(second, MIGRATE_PROCESS),
  ]);
  expect([...a, ...b].sort()).toEqual([...migrationNames].sort());
  expect(await recordedNames(first)).toEqual([...migrationNames]);
  expect(await pendingMigrations(second)).toEqual([]);
  // Up to date: answered from the migrations table, no child started.
  expect(await migrateInChildProcess(first, resolve(ROOT, 'no-such-script.js'))).toEqual([]);
}, 120_000);

test("a migration failing in the child process fails the start with the child's message", async () => {
  const [orm] = await freshDatabase();
  // The first migration creates this table: now it cannot, and applies nothing (all or nothing).
  await orm.em.getConnection().execute('create table "tenants" (id int)');
  await expect(migrateInChildProcess(orm, MIGRATE_PROCESS)).rejects.toThrow(/"tenants" already exists/);
  expect(await pendingMigrations(orm)).toEqual([...migrationNames]);
}, 120_000);
