import { createHash } from 'node:crypto';
import type { EntityManager, Knex } from '@mikro-orm/postgresql';

export interface SqlOptions {
  /**
   * Outside a transaction, send it as a named prepared statement: PostgreSQL parses and plans
   * it once per connection instead of at every call (for the large statements every chat runs,
   * most of their cost on the server). Inside a transaction it is sent unnamed.
   */
  prepared?: boolean;
}

/**
 * Runs one statement on `em`'s connection (inside its transaction, if it has one) with the
 * values sent as server-side parameters, arrays included. For the hot paths that write without
 * the unit of work; MikroORM's own `execute` would inline every value into the SQL text.
 */
export async function runSql<R = Record<string, unknown>>(
  em: EntityManager,
  sql: string,
  params: readonly unknown[],
  options: SqlOptions = {},
): Promise<R[]> {
  const query = em
    .getConnection()
    .getKnex()
    .raw(sql, params as Knex.RawBinding[]);
  const transaction = em.getTransactionContext<Knex.Transaction>();
  if (transaction) query.transacting(transaction);
  else if (options.prepared && namedStatements.usable) {
    try {
      return ((await query.options({ name: statementName(sql) })) as { rows: R[] }).rows;
    } catch (error) {
      if (!namedStatements.lost(error)) throw error;
      return runSql(em, sql, params);
    }
  }
  const result = (await query) as { rows: R[] };
  return result.rows;
}

const names = new Map<string, string>();

/** The same text always gets the same name (a connection prepares it once). */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (!name) {
    name = `keyward_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    if (names.size < 1000) names.set(sql, name);
  }
  return name;
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
