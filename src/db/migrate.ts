import type { Migrator } from '@mikro-orm/migrations';
import type { MikroORM } from '@mikro-orm/postgresql';
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { migrationNames } from '../../migrations/names';

/**
 * @mikro-orm/migrations with every committed migration. Loaded only when a migration is to run
 * or be written: with umzug and its command-line toolkit it is about 3.5 MB of heap, which a
 * process keeps once loaded.
 */
export async function loadMigrator(orm: MikroORM): Promise<Migrator> {
  const [{ Migrator }, { migrationsList }] = await Promise.all([
    import('@mikro-orm/migrations'),
    import('../../migrations/index.js'),
  ]);
  orm.config.set('migrations', { ...orm.config.get('migrations'), migrationsList });
  Migrator.register(orm);
  return orm.getMigrator<Migrator>();
}

/** Where @mikro-orm/migrations records applied migrations: its default table, in the default schema. */
const MIGRATIONS_TABLE = 'public.mikro_orm_migrations';

/** The committed migrations the database has not recorded as applied, read without loading the migrator. */
export async function pendingMigrations(orm: MikroORM): Promise<string[]> {
  const connection = orm.em.getConnection();
  const [{ table }] = await connection.execute<{ table: string | null }[]>('select to_regclass(?)::text as "table"', [
    MIGRATIONS_TABLE,
  ]);
  if (!table) return [...migrationNames];
  const rows = await connection.execute<{ name: string }[]>(`select name from ${MIGRATIONS_TABLE}`);
  // As the migrator reads them: a name recorded with its file's extension counts too.
  const applied = new Set(rows.map(({ name }) => name.replace(/\.[jt]s$/, '')));
  return migrationNames.filter((name) => !applied.has(name));
}

/** Arbitrary constant for pg_advisory_lock: replicas starting together migrate one at a time. */
const MIGRATION_LOCK = 0x6b77_0002;

/**
 * Applies every committed migration not yet applied; returns the names it ran. When none is
 * pending (every start but the first after an upgrade) that is one look at the migrations table.
 * Otherwise a session-level advisory lock on one pooled connection serialises concurrent
 * starters, and the migrator, under the lock, applies whatever is still pending then; the
 * migrations run on other connections (not inside a transaction on this one, which PGlite could
 * not interleave).
 */
export async function migrate(orm: MikroORM): Promise<string[]> {
  if ((await pendingMigrations(orm)).length === 0) return [];
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateUnderLock(orm);
    } catch (error) {
      if (attempt >= 5 || !isConcurrentMigrationRace(error)) throw error;
      await sleep(100 * attempt);
    }
  }
}

/**
 * PGlite has a single session, so the advisory lock cannot keep two processes sharing one
 * PGlite socket (tests) from migrating at once; the loser sees a table or row the winner just
 * created, and simply tries again.
 */
const isConcurrentMigrationRace = (error: unknown): boolean => {
  const code = (error as { code?: string } | null)?.code;
  return code === '42P07' || code === '23505' || /already exists|duplicate key/.test(String((error as Error)?.message));
};

async function migrateUnderLock(orm: MikroORM): Promise<string[]> {
  const migrator = await loadMigrator(orm);
  const knex = orm.em.getConnection().getKnex();
  const lockConnection = await knex.client.acquireConnection();
  try {
    await knex.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK]).connection(lockConnection);
    try {
      const applied = await migrator.up();
      return applied.map((migration) => migration.name);
    } finally {
      await knex.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK]).connection(lockConnection);
    }
  } finally {
    await knex.client.releaseConnection(lockConnection);
  }
}

/**
 * migrate(), with the migrator in a child process when a migration is pending: a gateway starting
 * on a new or upgraded database then never loads @mikro-orm/migrations (see loadMigrator). The
 * child runs migrate() on a pool of its own on the same database, so the advisory lock serialises
 * it with other starters as before; its error's message becomes this one's. `script` is the
 * compiled migrate-process.js; run from the TypeScript sources (jest) there is none beside this
 * file, and the migrations run in this process instead.
 */
export async function migrateInChildProcess(
  orm: MikroORM,
  script = join(__dirname, 'migrate-process.js'),
): Promise<string[]> {
  if ((await pendingMigrations(orm)).length === 0) return [];
  if (!existsSync(script)) return migrate(orm);
  const child = fork(script, [], {
    env: { ...process.env, KEYWARD_MIGRATION_URL: orm.config.get('clientUrl') },
    // Not this process's flags: an --inspect port, say, is this process's own.
    execArgv: [],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let applied: string[] | undefined;
  let stderr = '';
  child.on('message', (message) => void (applied = message as string[]));
  child.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code === 0 && applied) return applied;
  throw new Error(stderr.trim() || `the migration process exited with code ${code}`);
}
