/**
 * The child process migrateInChildProcess (migrate.ts) forks, with the database URL in
 * KEYWARD_MIGRATION_URL: applies the pending migrations with migrate() (advisory lock, retries)
 * on a small pool of its own and sends back the names it applied. On failure it writes the
 * error's message to stderr and exits 1.
 */
import { migrate } from './migrate';
import { openOrm } from './orm';

async function main(url: string | undefined): Promise<void> {
  const send = process.send?.bind(process);
  if (!url || !send) throw new Error('run by migrateInChildProcess (src/db/migrate.ts) only');
  const orm = await openOrm({ url, entities: [], poolMax: 2 });
  let applied: string[];
  try {
    applied = await migrate(orm);
  } finally {
    await orm.close();
  }
  await new Promise<void>((resolve, reject) =>
    send(applied, undefined, {}, (error: Error | null) => (error ? reject(error) : resolve())),
  );
  process.disconnect();
}

main(process.env.KEYWARD_MIGRATION_URL).catch((error: unknown) => {
  process.stderr.write(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
