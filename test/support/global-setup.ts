import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres';
import { createDatabase, serverUrl } from './test-database';

/**
 * One database per test run: a fresh database on the PostgreSQL server when TEST_DATABASE_URL
 * or DATABASE_URL is set (CI), else an embedded PGlite in a temporary directory. Test files reach
 * it through KEYWARD_TEST_DATABASE_URL; each gateway migrates it on start, as in production.
 * MikroORM is deliberately not loaded here: jest runs a single file in this realm, and entity
 * metadata registered here would clash with the test's own copy.
 */
export default async function globalSetup(): Promise<void> {
  const adminUrl = serverUrl();
  let url: string;
  if (adminUrl) {
    url = await createDatabase(adminUrl);
  } else {
    const directory = mkdtempSync(join(tmpdir(), 'keyward-test-pg-'));
    const embedded = await startEmbeddedPostgres(directory, 64);
    Object.assign(globalThis, { __keywardEmbedded: embedded, __keywardEmbeddedDir: directory });
    url = embedded.url;
  }
  process.env.KEYWARD_TEST_DATABASE_URL = url;
  process.env.KEYWARD_TEST_MASTER_KEY = randomBytes(32).toString('base64');
}
