import { generateBearerToken } from '../../src/auth/bearer-token';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import {
  chat,
  chatTenant,
  eventualUsageRow,
  openChat,
  refusedChat,
  uniqueText,
  upstreamFor,
  type ChatTenant,
  type OpenChat,
} from '../support/chat-harness';
import { ME, REVOKE_TOKEN, type TenantPolicyArgs } from '../support/documents';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { freePort, killAllGateways, spawnGateway, type GatewayProcess } from '../support/gateway-process';
import { errorCode, gql, ok } from '../support/graphql-client';
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/round-robin-proxy';
import { sql } from '../support/sql';
import { bearer, wsClient, wsRequest } from '../support/ws-client';
import { Redis } from 'ioredis';
import { onServerWithBackends } from '../support/postgres-cluster';

/**
 * Two real gateway processes (`node dist/src/main.js`) on the run's database, with a round-robin
 * TCP proxy in front where a client would meet a load balancer (docs/operations.md, "Several
 * replicas"). Leases live 2 seconds, so a dead replica's leftovers are gone soon; every wait polls
 * for a condition, none measures time.
 */

jest.setTimeout(120_000);

// PgBouncer, LISTEN on a session of its own, a backend to terminate: not on the embedded database.
const server = onServerWithBackends();
// Root-level: runs after the replicas' own teardown, which is inside describe.each.
afterAll(() => server.stop());

const REDIS_URL = 'redis://127.0.0.1:6379';

interface Store {
  /** A client of the Redis the replicas use, to read their leases; unset: PostgreSQL. */
  redis?: Redis;
}

const LEASE_SECONDS = 2;
const PER_USER = 2;

interface Replica {
  name: string;
  process: GatewayProcess;
  port: number;
  url: string;
  wsUrl: string;
  platformToken: string;
}

describe.each([
  ['PostgreSQL', false],
  ['Redis (KEYWARD_REDIS_URL)', true],
])('two replicas, leases and rate limits in %s', (_name, useRedis) => {
  const store: Store = {};
  beforeAll(() => {
    if (useRedis) store.redis = new Redis(REDIS_URL);
  });
  let anthropic: AnthropicServer;
  let replicaA: Replica;
  let replicaB: Replica;
  let proxy: RoundRobinProxy;
  /** A name per suite run, so its LISTEN connections are told apart from every other gateway's. */
  const run = generateBearerToken().slice(3, 11).toLowerCase();
  const storeEnv: Record<string, string> = useRedis
    ? { KEYWARD_REDIS_URL: REDIS_URL, KEYWARD_REDIS_KEY_PREFIX: `kwtest:${run}:` }
    : {};

  /** The replicas as a client behind the load balancer sees them. */
  const viaProxy = () => ({ url: `${proxy.url}/graphql`, wsUrl: `${proxy.url.replace(/^http/, 'ws')}/graphql` });

  const words = (count: number) => Array.from({ length: count }, (_, i) => `${i === 0 ? '' : ' '}w${i}`);

  /** `node dist/src/main.js` on the run's database, retried if its migration raced another gateway's start. */
  async function startReplica(name: string, env: Record<string, string> = {}): Promise<Replica> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const platformToken = generateBearerToken();
      const child = spawnGateway({
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: process.env.KEYWARD_TEST_DATABASE_URL!,
        KEYWARD_MASTER_KEY: process.env.KEYWARD_TEST_MASTER_KEY!,
        KEYWARD_BOOTSTRAP_TOKEN: platformToken,
        ANTHROPIC_BASE_URL: anthropic.baseURL,
        KEYWARD_MAX_STREAMS_PER_USER: String(PER_USER),
        KEYWARD_STREAM_LEASE_SECONDS: String(LEASE_SECONDS),
        KEYWARD_DRAIN_SECONDS: '1',
        // node-postgres names its connections after PGAPPNAME: the test finds this replica's LISTEN connection by it.
        PGAPPNAME: `kw-${run}-${name}`,
        LOG_LEVEL: 'info',
        ...storeEnv,
        ...env,
      });
      try {
        await child.waitForStdout(/Keyward listening/);
        const url = `http://127.0.0.1:${port}/graphql`;
        return { name, process: child, port, url, wsUrl: url.replace(/^http/, 'ws'), platformToken };
      } catch (error) {
        if (attempt >= 3 || !/already exists|duplicate key|EADDRINUSE/.test(String(error))) throw error;
      }
    }
  }

  /** Polls `check` until it holds; the test's timeout bounds the wait. */
  async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const count = async (text: string, params: unknown[]): Promise<number> =>
    Number((await sql<{ n: string }>(text, params))[0].n);
  /** The live stream leases of a user, in the store the replicas use. */
  const leasesOf = async (userId: string): Promise<number> =>
    store.redis
      ? store.redis.zcount(`kwtest:${run}:streams:user:${userId}`, `(${Date.now()}`, '+inf')
      : count('select count(*) as n from stream_leases where user_id = $1', [userId]);
  const budgetReservationsOf = (tenantId: string) =>
    count('select count(*) as n from budget_reservations where tenant_id = $1', [tenantId]);

  async function tenantWithKey(policy: TenantPolicyArgs = {}): Promise<ChatTenant> {
    const tenant = await chatTenant(replicaA as never, policy);
    await storeAnthropicKey(replicaA, tenant.adminToken, 'TENANT', anthropicKey());
    return tenant;
  }

  /** A chat held open by the upstream after its first token. */
  async function heldChat(replica: Pick<Replica, 'wsUrl'>, token: string, extra: { clientRequestId?: string } = {}) {
    const held = openChat(replica, token, { message: uniqueText('hold'), ...extra });
    await held.waitForDeltas(1, 30_000);
    return held;
  }

  beforeAll(async () => {
    anthropic = await startAnthropicServer();
    anthropic.setBehaviour((request) => {
      const messages = (request.body?.messages ?? []) as Array<{ content: string }>;
      const text = messages[messages.length - 1]?.content ?? '';
      if (text.startsWith('hold')) return { kind: 'stream', tokens: words(5), stallAfter: 1 };
      return undefined;
    });
    replicaA = await startReplica('a');
    replicaB = await startReplica('b');
    proxy = await startRoundRobinProxy([replicaA.port, replicaB.port]);
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    await killAllGateways();
    await anthropic?.close();
    if (store.redis) {
      const keys = await store.redis.keys(`kwtest:${run}:*`);
      if (keys.length) await store.redis.del(...keys);
      await store.redis.quit();
    }
  });

  test('the per-user cap holds across replicas: one stream on each, a third on either is refused', async () => {
    const tenant = await tenantWithKey();
    const held: OpenChat[] = [];
    try {
      held.push(await heldChat(replicaA, tenant.member.token));
      held.push(await heldChat(replicaB, tenant.member.token));
      expect(await leasesOf(tenant.member.userId)).toBe(2);

      // Each replica has one stream of this user open: only the shared count refuses the third.
      for (const replica of [replicaA, replicaB]) {
        const refused = uniqueText('third');
        expect(await refusedChat(replica, tenant.member.token, { message: refused })).toBe('RATE_LIMITED');
        expect(upstreamFor(anthropic, refused)).toHaveLength(0);
      }
    } finally {
      await Promise.all(held.map((chat) => chat.dispose()));
    }
    // Ended streams give their places back.
    await until(async () => (await leasesOf(tenant.member.userId)) === 0, 'the leases are released');
    const after = await chat(viaProxy(), tenant.member.token, { message: uniqueText('after') });
    expect(after.typenames.at(-1)).toBe('ChatCompleted');
  });

  test('the per-minute rate limit is counted once across both replicas', async () => {
    const tenant = await tenantWithKey({ requestsPerMinute: 2 });
    expect((await chat(replicaA, tenant.member.token, { message: uniqueText('one') })).typenames.at(-1)).toBe(
      'ChatCompleted',
    );
    expect((await chat(replicaB, tenant.member.token, { message: uniqueText('two') })).typenames.at(-1)).toBe(
      'ChatCompleted',
    );
    // Counted in the configured store.
    if (store.redis) expect(await store.redis.exists(`kwtest:${run}:rpm:${tenant.member.userId}`)).toBe(1);
    for (const replica of [replicaA, replicaB]) {
      const refused = uniqueText('three');
      expect(await refusedChat(replica, tenant.member.token, { message: refused })).toBe('RATE_LIMITED');
      expect(upstreamFor(anthropic, refused)).toHaveLength(0);
    }
  });

  test('a clientRequestId replayed on the other replica is a DUPLICATE_REQUEST naming the first, while it streams and after', async () => {
    const tenant = await tenantWithKey();
    const clientRequestId = `action-${uniqueText('id').replace(' ', '-')}`;
    const message = uniqueText('hold');
    const first = openChat(replicaA, tenant.member.token, { message, clientRequestId });
    try {
      await first.waitForDeltas(1, 30_000);
      const originalRequestId = first.run.started!.requestId;

      const replayWhileStreaming = await chat(replicaB, tenant.member.token, { message, clientRequestId });
      expect(replayWhileStreaming.events).toHaveLength(0);
      expect(replayWhileStreaming.errors?.[0]).toMatchObject({
        extensions: { code: 'DUPLICATE_REQUEST', requestId: originalRequestId },
      });
      expect(replayWhileStreaming.errors?.[0].message).toContain(originalRequestId);

      first.unsubscribe();
      expect(await eventualUsageRow(originalRequestId)).toMatchObject({ status: 'cancelled' });

      const replayAfter = await chat(replicaB, tenant.member.token, { message, clientRequestId });
      expect(errorCode(replayAfter)).toBe('DUPLICATE_REQUEST');
      expect(replayAfter.errors?.[0].extensions).toMatchObject({ requestId: originalRequestId });
      expect(upstreamFor(anthropic, message)).toHaveLength(1);

      // The id is the user's own: another user of the tenant may use the same one.
      const other = await tenantWithKey();
      const theirs = await chat(replicaB, other.member.token, { message: uniqueText('theirs'), clientRequestId });
      expect(theirs.typenames.at(-1)).toBe('ChatCompleted');
    } finally {
      await first.dispose();
    }
  });

  test('a token revoked on A: the next operation on a socket already open on B is refused', async () => {
    const tenant = await tenantWithKey();
    const socket = wsClient(replicaB.wsUrl, bearer(tenant.member.token), { lazy: false });
    try {
      expect((await wsRequest(socket, ME)).data?.me.id).toBe(tenant.member.userId);

      await ok(replicaA, tenant.adminToken, REVOKE_TOKEN, { id: tenant.member.tokenId });

      await until(async () => {
        const result = await wsRequest(socket, ME);
        if (result.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED') return true;
        expect(result.data?.me.id).toBe(tenant.member.userId);
        return false;
      }, 'B refuses the revoked token on its open socket');
    } finally {
      await socket.dispose();
    }
  });

  test("B's LISTEN connection dropped: B serves A's changes without caches until it listens again", async () => {
    const tenant = await tenantWithKey();
    const me = () => gql<{ me: { id: string } }>(replicaB.url, ME, {}, tenant.member.token);
    // Cached on B now: a stale cache would keep accepting the token after the revocation.
    expect((await me()).data?.me.id).toBe(tenant.member.userId);

    const lostBefore = replicaB.process.stdout.split('cache invalidation channel lost').length;
    const terminated = await sql<{ pid: number }>(
      `select pid from pg_stat_activity
        where application_name = $1 and query ilike 'listen %' and pg_terminate_backend(pid)`,
      [`kw-${run}-b`],
    );
    expect(terminated).toHaveLength(1);
    await until(
      () => replicaB.process.stdout.split('cache invalidation channel lost').length > lostBefore,
      'B notices its LISTEN connection is gone',
    );

    await ok(replicaA, tenant.adminToken, REVOKE_TOKEN, { id: tenant.member.tokenId });
    expect(errorCode(await me())).toBe('UNAUTHENTICATED');

    await until(
      async () =>
        (
          await sql(`select 1 from pg_stat_activity where application_name = $1 and query ilike 'listen %'`, [
            `kw-${run}-b`,
          ])
        ).length === 1,
      'B listens again',
    );
    expect(errorCode(await me())).toBe('UNAUTHENTICATED');
  });

  test("kill -9 of a replica mid-stream: its clients' sockets close, its leases and reservations expire, new streams are admitted", async () => {
    const tenant = await tenantWithKey({ monthlyBudgetUsd: 100 });
    const onA = [await heldChat(replicaA, tenant.member.token), await heldChat(replicaA, tenant.member.token)];
    try {
      expect(await leasesOf(tenant.member.userId)).toBe(PER_USER);
      expect(await budgetReservationsOf(tenant.tenantId)).toBe(PER_USER);
      expect(await refusedChat(replicaB, tenant.member.token, { message: uniqueText('full') })).toBe('RATE_LIMITED');

      replicaA.process.child.kill('SIGKILL');
      await replicaA.process.exited;
      const runs = await Promise.all(onA.map((held) => held.done));
      for (const ended of runs) {
        expect(ended.typenames).toEqual(['ChatStarted', 'ChatDelta']);
      }

      await until(
        async () => (await leasesOf(tenant.member.userId)) === 0 && (await budgetReservationsOf(tenant.tenantId)) === 0,
        "the dead replica's leases and budget reservations are swept",
      );
      const admitted = [await heldChat(replicaB, tenant.member.token), await heldChat(replicaB, tenant.member.token)];
      await Promise.all(admitted.map((held) => held.dispose()));
    } finally {
      await Promise.all(onA.map((held) => held.dispose()));
      replicaA = await startReplica('a');
      await proxy.close();
      proxy = await startRoundRobinProxy([replicaA.port, replicaB.port]);
    }
  });

  test('SIGTERM on A mid-stream: not ready, new chats refused with SHUTTING_DOWN and sent to B; the open one ends SHUTTING_DOWN, completes, socket closed 1001', async () => {
    // A long drain, so that the stream is still open while the test looks at the draining replica;
    // the second signal then ends the drain at once (see main.ts).
    replicaA.process.child.kill('SIGKILL');
    await replicaA.process.exited;
    replicaA = await startReplica('a', { KEYWARD_DRAIN_SECONDS: '60' });
    await proxy.close();
    proxy = await startRoundRobinProxy([replicaA.port, replicaB.port]);

    const tenant = await tenantWithKey();
    let closed: { code: number } | undefined;
    proxy.setEnabled(1, false);
    const held = openChat(
      viaProxy(),
      tenant.member.token,
      { message: uniqueText('hold') },
      // Not lazy: a lazy client closes its own socket (1000) once its last subscription completes.
      {
        lazy: false,
        onNonLazyError: () => undefined,
        on: { closed: (event) => void (closed = event as { code: number }) },
      },
    );
    try {
      await held.waitForDeltas(1, 30_000);
      expect(proxy.assignments.at(-1)).toBe(0);
      proxy.setEnabled(1, true);

      replicaA.process.child.kill('SIGTERM');
      const readyz = `http://127.0.0.1:${replicaA.port}/readyz`;
      await until(async () => (await fetch(readyz)).status === 503, 'A is not ready');
      expect(await refusedChat(replicaA, tenant.member.token, { message: uniqueText('refused') })).toBe(
        'SHUTTING_DOWN',
      );

      // The balancer takes A out once its readiness fails: the next subscription lands on B.
      proxy.setEnabled(0, false);
      const elsewhere = await chat(viaProxy(), tenant.member.token, { message: uniqueText('elsewhere') });
      expect(proxy.assignments.at(-1)).toBe(1);
      expect(elsewhere.typenames.at(-1)).toBe('ChatCompleted');
      expect(held.isEnded).toBe(false);

      replicaA.process.child.kill('SIGTERM');
      const ended = await held.done;
      expect(held.endedBy).toBe('complete');
      expect(ended.typenames).toEqual(['ChatStarted', 'ChatDelta', 'ChatFailed']);
      expect(ended.failed).toMatchObject({ code: 'SHUTTING_DOWN', retryable: true });
      await until(() => closed !== undefined, 'the socket closes');
      expect(closed!.code).toBe(1001);
      expect(await replicaA.process.exited).toBe(0);
      expect(await eventualUsageRow(ended.started!.requestId)).toMatchObject({ error_code: 'SHUTTING_DOWN' });
    } finally {
      await held.dispose();
    }
  });
});
