import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { PgStreamLeases, type LeaseRequest, type StreamLeases } from '../../src/limits/stream-leases';
import { RedisStreamLeases } from '../../src/limits/redis-stream-leases';
import { startSharedGateway, type TestGateway } from '../support/gateway';

/**
 * The two lease stores against real PostgreSQL and Redis: many admissions at once (each on its own
 * connection, as from many replicas) never take more places than the caps; a released or expired
 * lease frees its place; a client request id is claimed once.
 */

const PER_USER = 3;
const PER_TENANT = 5;
const LEASE_MS = 1_000;

let gw: TestGateway;
let redis: Redis;
const prefix = `kwtest:leases:${randomUUID()}:`;

beforeAll(async () => {
  gw = await startSharedGateway();
  redis = new Redis('redis://127.0.0.1:6379');
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await gw?.stop();
});

const limits = { perUser: PER_USER, perTenant: PER_TENANT };
const stores: Array<[string, () => StreamLeases]> = [
  ['PostgreSQL', () => new PgStreamLeases(gw.gateway.orm.em, randomUUID(), limits, LEASE_MS)],
  ['Redis', () => new RedisStreamLeases(redis, prefix, limits, LEASE_MS, gw.gateway.log)],
];

const request = (tenantId: string, userId: string, clientRequestId?: string): LeaseRequest => ({
  leaseId: randomUUID(),
  tenantId,
  userId,
  requestId: randomUUID(),
  clientRequestId,
});

describe.each(stores)('%s', (_name, makeStore) => {
  test('twenty admissions at once for one user: exactly the cap is admitted; a release frees one place', async () => {
    const leases = makeStore();
    const tenantId = randomUUID();
    const userId = randomUUID();
    const requests = Array.from({ length: 20 }, () => request(tenantId, userId));
    const outcomes = await Promise.all(requests.map((each) => leases.admit(each)));
    const admitted = requests.filter((_, i) => outcomes[i].outcome === 'admitted');
    expect(admitted).toHaveLength(PER_USER);
    expect(outcomes.filter((each) => each.outcome === 'user_cap')).toHaveLength(20 - PER_USER);

    await leases.release(admitted[0]);
    expect(await leases.admit(request(tenantId, userId))).toEqual({ outcome: 'admitted' });
    expect(await leases.admit(request(tenantId, userId))).toEqual({ outcome: 'user_cap' });
  });

  test('the tenant cap counts every user of the tenant', async () => {
    const leases = makeStore();
    const tenantId = randomUUID();
    const users = Array.from({ length: 4 }, () => randomUUID());
    const outcomes = await Promise.all(
      users
        .flatMap((userId) => [request(tenantId, userId), request(tenantId, userId)])
        .map((each) => leases.admit(each)),
    );
    expect(outcomes.filter((each) => each.outcome === 'admitted')).toHaveLength(PER_TENANT);
    expect(outcomes.filter((each) => each.outcome === 'tenant_cap')).toHaveLength(8 - PER_TENANT);
  });

  test('a lease not renewed stops counting after the lease time; a renewed one goes on counting', async () => {
    const leases = makeStore();
    const tenantId = randomUUID();
    const userId = randomUUID();
    const kept = request(tenantId, userId);
    const held = [kept, request(tenantId, userId), request(tenantId, userId)];
    for (const each of held) expect(await leases.admit(each)).toEqual({ outcome: 'admitted' });
    expect(await leases.admit(request(tenantId, userId))).toEqual({ outcome: 'user_cap' });

    // Renew one lease while the two others expire: then two places are free again, not three.
    let admittedAfter = 0;
    for (let attempt = 0; attempt < 200 && admittedAfter < 2; attempt++) {
      await leases.renew([kept]);
      const outcome = await leases.admit(request(tenantId, userId));
      if (outcome.outcome === 'admitted') admittedAfter++;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(admittedAfter).toBe(2);
    await leases.renew([kept]);
    expect(await leases.admit(request(tenantId, userId))).toEqual({ outcome: 'user_cap' });
  });

  test('a client request id is claimed once per user; withdrawn, it may be used again', async () => {
    const leases = makeStore();
    const tenantId = randomUUID();
    const userId = randomUUID();
    const first = request(tenantId, userId, 'send-1');
    const racing = [first, request(tenantId, userId, 'send-1'), request(tenantId, userId, 'send-1')];
    const outcomes = await Promise.all(racing.map((each) => leases.admit(each)));
    expect(outcomes.filter((each) => each.outcome === 'admitted')).toHaveLength(1);
    const winner = racing[outcomes.findIndex((each) => each.outcome === 'admitted')];
    for (const outcome of outcomes.filter((each) => each.outcome !== 'admitted')) {
      expect(outcome).toEqual({ outcome: 'duplicate', originalRequestId: winner.requestId });
    }
    // Another user's same id is theirs.
    expect(await leases.admit(request(tenantId, randomUUID(), 'send-1'))).toEqual({ outcome: 'admitted' });

    await leases.withdraw(winner);
    expect(await leases.admit(request(tenantId, userId, 'send-1'))).toEqual({ outcome: 'admitted' });
  });
});
