import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { keepProtocolBatchesTogether } from './pglite-batch-queue';

export interface EmbeddedPostgres {
  /** postgres:// URL of a local socket in front of PGlite. */
  url: string;
  stop(): Promise<void>;
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly) persisted under `dataDir/pgdata`, exposed on a
 * loopback socket so the application talks to it exactly as it would to a PostgreSQL server.
 * PGlite runs one query at a time: see STACK-NOTES on transactions.
 */
export async function startEmbeddedPostgres(dataDir: string, maxConnections = 16): Promise<EmbeddedPostgres> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const directory = join(dataDir, 'pgdata');
  mkdirSync(directory, { recursive: true });
  const db = await PGlite.create(directory);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections });
  keepProtocolBatchesTogether(server);
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
