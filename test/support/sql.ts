import { Client, escapeLiteral } from 'pg';
import { prepareValue } from 'pg/lib/utils';

/** The run's test database (global-setup sets it). */
export const testDatabaseUrl = (): string => {
  const url = process.env.KEYWARD_TEST_DATABASE_URL;
  if (!url) throw new Error('KEYWARD_TEST_DATABASE_URL is not set: run the tests through jest');
  return url;
};

/** Runs `use` with a plain `pg` client on a database (the run's test database unless given). */
export async function withPg<T>(use: (client: Client) => Promise<T>, url = testDatabaseUrl()): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** One statement on a database given by URL (the run's shared one, or an isolated one). */
export const sqlOn = <R extends Record<string, unknown> = Record<string, any>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> => withPg(async (client) => (await client.query<R>(text, params)).rows, url);

/**
 * Runs one query on the run's test database over a plain `pg` connection (the PostgreSQL server
 * and the embedded PGlite both answer on a socket), for checks the API cannot express.
 */
export const sql = <R extends Record<string, unknown> = Record<string, any>>(
  text: string,
  params: unknown[] = [],
): Promise<R[]> => sqlOn<R>(testDatabaseUrl(), text, params);

const count = async (text: string, params: unknown[]): Promise<number> =>
  Number((await sql<{ n: string }>(text, params))[0].n);

/**
 * What one tenant holds. Test files run in parallel on one database, so "nothing was written"
 * is checked per tenant (or per unique name/email), never with global counts.
 */
export async function tenantRowCounts(tenantId: string): Promise<{ users: number; tokens: number }> {
  return {
    users: await count('select count(*) as n from users where tenant_id = $1', [tenantId]),
    tokens: await count(
      'select count(*) as n from api_tokens t join users u on u.id = t.user_id where u.tenant_id = $1',
      [tenantId],
    ),
  };
}

// PostgreSQL text cannot hold NUL, so a value with one can only have been stored without it.
const storable = (value: string): string => value.replaceAll('\u0000', '');

/** Rows that a createTenant with this name or admin email would have written. */
export async function rowsForTenantAttempt(
  name: string,
  adminEmail: string,
): Promise<{ tenants: number; users: number }> {
  return {
    tenants: await count('select count(*) as n from tenants where name_key = lower(btrim($1))', [storable(name)]),
    users: await count('select count(*) as n from users where email = lower(btrim($1))', [storable(adminEmail)]),
  };
}

export async function tokenRow(
  id: string,
): Promise<{ last_used_at: Date | null; revoked_at: Date | null } | undefined> {
  return (
    await sql<{ last_used_at: Date | null; revoked_at: Date | null }>(
      'select last_used_at, revoked_at from api_tokens where id = $1',
      [id],
    )
  )[0];
}

/**
 * Renders a parameter as an SQL literal the way node-postgres would send it as text (Buffers as
 * bytea hex, arrays as array literals, objects as JSON).
 */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (Buffer.isBuffer(value)) return `'\\x${value.toString('hex')}'`;
  const text = prepareValue(value);
  return escapeLiteral(Buffer.isBuffer(text) ? `\\x${text.toString('hex')}` : String(text));
}

/**
 * Like `sql`, but over PostgreSQL's simple query protocol, with the parameters inlined as
 * literals: one protocol message per statement.
 *
 * Why: the embedded PGlite socket server runs the messages of every connection through one
 * session, and while some connection holds a transaction, the Parse/Bind/Execute messages of
 * another connection's parameterized query can be split by it (`unnamed prepared statement does
 * not exist`, `portal "" does not exist`, or another statement bound to these parameters). A
 * single simple-protocol message cannot be split. `$n` placeholders must not occur inside the
 * statement's own string literals.
 */
export async function sqlSimple<R extends Record<string, unknown> = Record<string, any>>(
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const inlined = text.replace(/\$(\d+)/g, (_, index: string) => {
    const position = Number(index);
    if (position < 1 || position > params.length) throw new Error(`no parameter $${position} for: ${text}`);
    return sqlLiteral(params[position - 1]);
  });
  return sql<R>(inlined);
}
