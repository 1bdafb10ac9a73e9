// Run by embedded-isolation.test.ts in a child process (PGlite cannot load inside a jest worker).
// Many connections interleave parameterised queries, transactions and failing statements on the
// embedded database; every connection must get exactly its own results.
const { Client } = require('pg');
const { startEmbeddedPostgres } = require(process.argv[2]);

(async () => {
  const embedded = await startEmbeddedPostgres(process.argv[3], 32);
  const connect = async () => {
    const client = new Client({ connectionString: embedded.url });
    await client.connect();
    return client;
  };
  const tally = { ok: 0, wrong: 0, errors: 0 };
  const readers = await Promise.all(Array.from({ length: 8 }, connect));
  const writers = await Promise.all(Array.from({ length: 2 }, connect));
  const failers = await Promise.all(Array.from({ length: 2 }, connect));
  await writers[0].query('create table counters (k text primary key, n int not null)');
  await writers[0].query("insert into counters values ('x', 0)");

  const read = async (client, column, offset) => {
    for (let i = 0; i < 150; i++) {
      try {
        const { rows } = await client.query(`select $1::int + ${offset} as ${column}`, [i]);
        if (rows[0]?.[column] === i + offset) tally.ok++;
        else tally.wrong++;
      } catch {
        tally.errors++;
      }
    }
  };
  const increment = async (client) => {
    for (let i = 0; i < 60; i++) {
      try {
        await client.query('begin');
        const { rows } = await client.query('select n from counters where k = $1 for update', ['x']);
        await client.query('update counters set n = $1 where k = $2', [rows[0].n + 1, 'x']);
        await client.query('commit');
        tally.ok++;
      } catch {
        tally.errors++;
        await client.query('rollback').catch(() => undefined);
      }
    }
  };
  const fail = async (client) => {
    for (let i = 0; i < 60; i++) {
      try {
        await client.query('select 1 / $1::int as z', [0]);
        tally.wrong++;
      } catch (error) {
        if (/division by zero/.test(error.message)) tally.ok++;
        else tally.errors++;
      }
    }
  };
  await Promise.all([
    ...readers.map((client, k) => read(client, `c${k}`, k * 1000)),
    ...writers.map(increment),
    ...failers.map(fail),
  ]);
  const { rows } = await readers[0].query('select n from counters');
  for (const client of [...readers, ...writers, ...failers]) await client.end();
  await embedded.stop();
  process.stdout.write(JSON.stringify({ ...tally, counter: rows[0].n }));
})().catch((error) => {
  process.stderr.write(String(error?.stack ?? error));
  process.exit(1);
});
