import type { EntityManager } from '@mikro-orm/postgresql';
import { HeldConnection, poolOf } from '../../src/db/held-connection';
import { runStatement } from '../../src/db/sql';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { onServerWithBackends } from '../support/postgres-cluster';
import { sql } from '../support/sql';

jest.setTimeout(60_000);

// Backend pids and pg_terminate_backend: a backend per connection, which the embedded database has not.
const server = onServerWithBackends();

let gw: TestGateway;
let root: EntityManager;

beforeAll(async () => {
  gw = await startTestGateway();
  root = gw.gateway.orm.em;
});

afterAll(async () => {
  await gw.stop();
});
// Last: the gateways and poolers above are gone before their server stops.
afterAll(() => server.stop());

const PID = 'select pg_backend_pid() as pid';
const pidOn = async (connection: HeldConnection | undefined) =>
  Number((await runStatement<{ pid: number }>(connection ?? poolOf(root), PID, []))[0].pid);

/** How many of the pool's connections are lent out (tarn's count). */
const lent = () => (root.getConnection().getKnex().client as unknown as { pool: { numUsed(): number } }).pool.numUsed();

const until = async (condition: () => boolean | Promise<boolean>, what: string) => {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not in time: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

test('statements one after the other run on one connection, kept out of the pool between them', async () => {
  const held = new HeldConnection(root, 60_000);
  try {
    const first = await pidOn(held);
    const lentWhileHeld = lent();
    expect(lentWhileHeld).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 5; i++) expect(await pidOn(held)).toBe(first);
    // Concurrent statements share it too (pg runs them in turn).
    expect(await Promise.all([pidOn(held), pidOn(held), pidOn(held)])).toEqual([first, first, first]);
    expect(lent()).toBe(lentWhileHeld);
  } finally {
    held.close();
  }
});

test('once a connection is held, a statement is handed to it before runStatement returns (no promise callback in between)', async () => {
  const held = new HeldConnection(root, 60_000);
  try {
    const pid = await pidOn(held);
    const connection = held.acquireHeld();
    expect(connection).not.toBeNull();
    held.release(connection!);
    const handed: string[] = [];
    const query = connection!.query.bind(connection);
    // Watched on this instance only, for this test (pg's own method is on the prototype).
    connection!.query = (config) => {
      handed.push(config.text);
      return query(config);
    };
    try {
      const running = runStatement<{ pid: number }>(held, PID, []);
      expect(handed).toEqual([PID]);
      expect(Number((await running)[0].pid)).toBe(pid);
    } finally {
      Reflect.deleteProperty(connection!, 'query');
    }
  } finally {
    held.close();
  }
  expect(held.acquireHeld()).toBeNull();
});

test('it goes back to the pool once idle, and the next statement takes one again', async () => {
  const before = lent();
  const held = new HeldConnection(root, 50);
  try {
    await pidOn(held);
    expect(lent()).toBe(before + 1);
    await until(() => lent() === before, 'the idle connection is back in the pool');
    expect(held.acquireHeld()).toBeNull();
    await pidOn(held);
    expect(lent()).toBe(before + 1);
  } finally {
    held.close();
  }
  await until(() => lent() === before, 'closed, it is given back');
});

test('a held connection whose backend was terminated is replaced: the next statement succeeds on a new backend', async () => {
  const held = new HeldConnection(root, 60_000);
  try {
    const first = await pidOn(held);
    const lentWhileHeld = lent();
    const [{ terminated }] = await sql<{ terminated: boolean }>('select pg_terminate_backend($1) as terminated', [
      first,
    ]);
    expect(terminated).toBe(true);
    await until(() => lent() === lentWhileHeld - 1, 'the lost connection is given back to the pool');
    const next = await pidOn(held);
    expect(next).not.toBe(first);
    expect(await pidOn(held)).toBe(next);
  } finally {
    held.close();
  }
});

test('an SQL error keeps the connection; the statement fails with its SQLSTATE', async () => {
  const held = new HeldConnection(root, 60_000);
  try {
    const first = await pidOn(held);
    await expect(runStatement(held, 'select 1 / 0', [])).rejects.toMatchObject({
      code: '22012',
    });
    expect(await pidOn(held)).toBe(first);
  } finally {
    held.close();
  }
});

test('closed while a statement runs, it goes back to the pool when that statement ends', async () => {
  const before = lent();
  const held = new HeldConnection(root, 60_000);
  await pidOn(held);
  const running = runStatement(held, 'select pg_sleep(0.2)', []);
  await until(() => lent() === before + 1, 'the statement is running');
  held.close();
  expect(lent()).toBe(before + 1);
  await running;
  await until(() => lent() === before, 'given back');
  // Closed, it holds nothing: each statement takes a connection from the pool and gives it back.
  await pidOn(held);
  expect(lent()).toBe(before);
});
