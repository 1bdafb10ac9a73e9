import type { EntityManager, Knex } from '@mikro-orm/postgresql';

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
  const query = em
    .getConnection()
    .getKnex()
    .raw(sql, params as Knex.RawBinding[]);
  const transaction = em.getTransactionContext<Knex.Transaction>();
  if (transaction) query.transacting(transaction);
  const result = (await query) as { rows: R[] };
  return result.rows;
}
