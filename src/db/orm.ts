import type { EntityClass } from '@mikro-orm/core';
import { MikroORM, type Options } from '@mikro-orm/postgresql';

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
    // No entities is deliberate in migrate-process.ts: the migrations are plain SQL.
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true, warnWhenNoEntities: entities.length > 0 },
    pool: { min: 0, max: poolMax, afterCreate: forceGenericPlans },
    debug,
    allowGlobalContext: false,
    forceUtcTimezone: true,
    // The migrator and the migration classes join these options in loadMigrator (migrate.ts), when needed.
    migrations: {
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
