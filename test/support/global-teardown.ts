import { rmSync } from 'node:fs';
import type { EmbeddedPostgres } from '../../src/db/embedded-postgres';
import { dropDatabase, serverUrl } from './test-database';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis as { __keywardEmbedded?: EmbeddedPostgres; __keywardEmbeddedDir?: string };
  if (state.__keywardEmbedded) {
    await state.__keywardEmbedded.stop();
    if (state.__keywardEmbeddedDir) rmSync(state.__keywardEmbeddedDir, { recursive: true, force: true });
    return;
  }
  const adminUrl = serverUrl();
  const url = process.env.KEYWARD_TEST_DATABASE_URL;
  if (adminUrl && url && !process.env.KEYWARD_KEEP_TEST_DATABASE) await dropDatabase(adminUrl, url);
}
