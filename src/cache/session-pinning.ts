import type { Knex } from '@mikro-orm/postgresql';

interface PidQueryable {
  query(sql: string): Promise<unknown>;
}

const BACKEND_PID = 'select pg_backend_pid() as pid';

/**
 * Whether `connection` keeps one PostgreSQL server backend to itself, as LISTEN needs. Through a
 * pooler in transaction or statement mode (PgBouncer) each statement may run on another backend,
 * and an idle client's backend serves other clients: the backend pid changes between statements,
 * or a pool connection reports the same pid.
 */
export async function isSessionPinned(connection: PidQueryable, knex: Knex): Promise<boolean> {
  const before = pidOf(await connection.query(BACKEND_PID));
  const fromPool = pidOf(await knex.raw(BACKEND_PID));
  const after = pidOf(await connection.query(BACKEND_PID));
  return before === after && fromPool !== before;
}

function pidOf(result: unknown): number {
  const rows = (result as { rows?: Array<{ pid: unknown }> }).rows;
  const pid = Number(rows?.[0]?.pid);
  if (!Number.isInteger(pid)) throw new Error('pg_backend_pid() returned no pid');
  return pid;
}
