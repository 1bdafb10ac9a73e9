import type { EntityClass } from '@mikro-orm/core';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { setTimeout as sleep } from 'node:timers/promises';
import { Migrator } from '@mikro-orm/migrations';
import { migrationsList } from '../../migrations';

export interface OrmOptions {
  url: string;
  /** Every entity to manage (the gateway's list is in src/modules.ts). */
  entities: readonly EntityClass<object>[];
  poolMax?: number;
  debug?: boolean;
}

export function ormOptions({ url, entities, poolMax = 10, debug = false }: OrmOptions): Options {
  return {
    clientUrl: url,
    entities: [...entities],
    extensions: [Migrator],
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    pool: { min: 0, max: poolMax, afterCreate: forceGenericPlans },
    debug,
    allowGlobalContext: false,
    forceUtcTimezone: true,
    migrations: {
      migrationsList,
      snapshot: false,
      silent: true,
      transactional: true,
      allOrNothing: true,
      disableForeignKeys: false,
    },
  };
}

interface RawConnection {
  query(sql: string, callback: (error: Error | null) => void): void;
}

/**
 * Keyward's named statements (runSql's `prepared`) take arrays, whose lengths PostgreSQL would
 * otherwise plan each call for (custom plans: most of those statements' time on the server); their
 * generic plan is as good. It changes nothing for unnamed statements, which all others are.
 */
function forceGenericPlans(connection: RawConnection, done: (error: Error | null, connection: RawConnection) => void) {
  connection.query('set plan_cache_mode = force_generic_plan', (error) => done(error, connection));
}

export async function openOrm(options: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(ormOptions(options));
}

/** Arbitrary constant for pg_advisory_lock: replicas starting together migrate one at a time. */
const MIGRATION_LOCK = 0x6b77_0002;

/**
 * Applies every committed migration not yet applied; returns the names it ran. A session-level
 * advisory lock on one pooled connection serialises concurrent starters; the migrations run on
 * other connections (not inside a transaction on this one, which PGlite could not interleave).
 */
export async function migrate(orm: MikroORM): Promise<string[]> {
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
  const knex = orm.em.getConnection().getKnex();
  const lockConnection = await knex.client.acquireConnection();
  try {
    await knex.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK]).connection(lockConnection);
    try {
      const applied = await orm.getMigrator().up();
      return applied.map((migration) => migration.name);
    } finally {
      await knex.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK]).connection(lockConnection);
    }
  } finally {
    await knex.client.releaseConnection(lockConnection);
  }
}
