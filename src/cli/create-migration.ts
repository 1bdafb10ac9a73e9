/**
 * Developer tool: applies the committed migrations to DATABASE_URL, then writes a new migration
 * into migrations/ for whatever the entities declare beyond them. Add the new file to
 * migrations/names.ts and migrations/index.ts afterwards.
 */
import 'reflect-metadata';
import { resolve } from 'node:path';
import { loadMigrator, migrate } from '../db/migrate';
import { openOrm } from '../db/orm';
import { ENTITIES } from '../modules';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('Set DATABASE_URL to a scratch PostgreSQL database');
  const orm = await openOrm({ url, entities: ENTITIES });
  try {
    await migrate(orm);
    const directory = resolve(__dirname, '../../../migrations');
    const result = await (await loadMigrator(orm)).createMigration(directory, false, false, process.argv[2]);
    console.log(result.diff.up.length ? `wrote ${result.fileName}` : 'no schema difference: nothing written');
  } finally {
    await orm.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
