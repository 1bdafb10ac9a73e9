import type { EmbeddedPostgres } from '../../src/db/embedded-postgres';
import { dropDatabase, serverUrl } from './test-database';

export default async function globalTeardown(): Promise<void> {
  const embedded = (globalThis as Record<string, unknown>).__keywardEmbedded as EmbeddedPostgres | undefined;
  if (embedded) {
    await embedded.stop();
    return;
  }
  const adminUrl = serverUrl();
  const url = process.env.KEYWARD_TEST_DATABASE_URL;
  if (adminUrl && url && !process.env.KEYWARD_KEEP_TEST_DATABASE) await dropDatabase(adminUrl, url);
}
