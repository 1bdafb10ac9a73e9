import type { ChildProcess } from 'node:child_process';
import { Client } from 'pg';

/**
 * Waits until `url` answers a query: the PostgreSQL server or pooler that `child` (named `name`
 * in errors) is starting. Fails at once if it exits, with what it wrote to stderr.
 */
export async function waitForPostgres(
  url: string,
  child: ChildProcess,
  stderr: () => string,
  name: string,
  attempts = 200,
): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${stderr()}`);
    const client = new Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(`${name} did not accept connections: ${stderr()}`);
}
