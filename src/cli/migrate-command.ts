import type { Config } from '../config';
import { migrate } from '../db/migrate';
import { cliLogger, withDatabase } from './cli-database';

export async function runMigrate(config: Config): Promise<number> {
  const applied = await withDatabase(config, cliLogger(config), migrate, { migrateFirst: false });
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  return 0;
}
