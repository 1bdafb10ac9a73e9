import { createHash } from 'node:crypto';
import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import { DatabaseError } from 'pg';
import type { ConnectionSource } from './held-connection';

/**
 * Runs one statement on `em`'s connection (inside its transaction, if it has one) with the
 * values sent as server-side parameters, arrays included. For the hot paths that write without
 * the unit of work; MikroORM's own `execute` would inline every value into the SQL text.
 */
export async function runSql<R = Record<string, unknown>>(
  em: EntityManager,
  sql: string,
  params: readonly unknown[],
): Promise<R[]> {
  const transaction = em.getTransactionContext<Knex.Transaction>();
  const query = em
    .getConnection()
    .getKnex()
    .raw(sql, params as Knex.RawBinding[]);
  if (transaction) query.transacting(transaction);
  const result = (await query) as { rows: R[] };
  return result.rows;
}

/**
 * Runs one statement on its own (in no transaction of the caller's) on a connection from
 * `source`, as a named prepared statement: PostgreSQL parses and plans it once per connection.
 * Where named statements cannot be kept (see `namedStatements`) it is sent unnamed. The way of
 * the statements every chat runs: it needs no EntityManager, and forking one for the call (so as
 * to be outside any transaction) cost about 0.04 ms, on the path of each chat's admission and end.
 */
export async function runStatement<R = Record<string, unknown>>(
  source: ConnectionSource,
  sql: string,
  params: readonly unknown[],
): Promise<R[]> {
  const statement = statementOf(sql);
  if (namedStatements.usable) {
    try {
      return await runOn<R>(source, statement, params);
    } catch (error) {
      if (!namedStatements.lost(error)) throw error;
    }
  }
  return runOn<R>(source, { text: statement.text }, params);
}

/**
 * One statement straight on a pooled connection. Through knex's query runner the same call
 * cost about 0.15 ms before the statement left (its query builder, binding rewrite and response
 * handling, on every call), on the path of every chat's admission and end; here the SQL is
 * rewritten to `$n` placeholders once per text.
 */
async function runOn<R>(
  source: ConnectionSource,
  statement: { name?: string; text: string },
  params: readonly unknown[],
): Promise<R[]> {
  const connection = source.acquireHeld?.() ?? (await source.acquire());
  try {
    return (await connection.query({ ...statement, values: params })).rows as R[];
  } catch (error) {
    if (!(error instanceof DatabaseError)) source.failed?.(connection);
    throw error;
  } finally {
    source.release(connection);
  }
}

interface NamedStatement {
  name: string;
  /** The SQL with knex's `?` placeholders numbered as PostgreSQL's `$1`, `$2`… */
  text: string;
}

const statements = new Map<string, NamedStatement>();

/** The same text always gets the same name (a connection prepares it once). */
function statementOf(sql: string): NamedStatement {
  let statement = statements.get(sql);
  if (!statement) {
    statement = {
      name: `keyward_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`,
      text: positional(sql),
    };
    if (statements.size < 1000) statements.set(sql, statement);
  }
  return statement;
}

/** `?` to `$n`, exactly as knex's PostgreSQL client numbers them (an escaped `\\?` is a literal `?`). */
export function positional(sql: string): string {
  let count = 0;
  return sql.replace(/(\\*)\?/g, (_match: string, escapes: string) => (escapes.length % 2 ? '?' : `$${++count}`));
}

/**
 * Named statements belong to a server session. Through a pooler that hands each statement to
 * any server connection (PgBouncer before 1.21 in transaction or statement mode) the client's
 * record of what it prepared is wrong: a statement fails before running, as missing (26000) or
 * already existing (42P05). From the first such failure on, this process sends every statement
 * unnamed; the failed one is sent again that way.
 */
const namedStatements = {
  usable: true,
  lost(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    if (code !== '26000' && code !== '42P05') return false;
    this.usable = false;
    return true;
  },
};
