import { knex } from '@mikro-orm/postgresql';
import { positional } from '../../../src/db/sql';

/** What knex's PostgreSQL client sends for a raw statement: runSql's direct path must send the same text. */
const knexNative = (sql: string, bindings: unknown[]) =>
  knex({ client: 'pg' })
    .raw(sql, bindings as never[])
    .toSQL()
    .toNative().sql;

describe('positional (the SQL runSql sends on its direct path)', () => {
  test.each([
    ['select 1', []],
    ['select ?::int + ?::int', [1, 2]],
    [
      `with lease as (delete from stream_leases where id = any(?::uuid[]))
        select r.ord from unnest(?::uuid[], ?::text[]) with ordinality as r(id, name, ord) where r.name <> ?`,
      [[], [], [], 'x'],
    ],
    ['select \\? as literal, ?::text as bound', ['a']],
  ])('numbers the placeholders of %j as knex does', (sql, bindings) => {
    expect(positional(sql)).toBe(knexNative(sql, bindings));
  });

  test('every placeholder gets its own number, in order', () => {
    expect(positional('insert into t (a, b, c) values (?, ?::uuid, ?::jsonb)')).toBe(
      'insert into t (a, b, c) values ($1, $2::uuid, $3::jsonb)',
    );
  });
});
