import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { generateBearerToken } from '../../src/auth/bearer-token';
import { closed, GRAPHQL_TRANSPORT_WS, initializedSocket, nextMessage, opened, overWs } from '../hardening/helpers';
import { startSharedGateway, type TestGateway } from '../support/gateway';
import { gql } from '../support/graphql-client';
import { sql } from '../support/sql';
import { bearer } from '../support/ws-client';

/**
 * docs/security.md "Clients without credentials": failed authentications are audited within a
 * bound, and WebSockets without a valid token are bounded in number and in lifetime.
 */

/** An address no other test uses, as a trusted proxy reports it (KEYWARD_TRUST_PROXY=loopback). */
const uniqueIp = (): string => `2001:db8::${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;

const socketFrom = (gw: TestGateway, ip: string): WebSocket =>
  new WebSocket(gw.wsUrl, GRAPHQL_TRANSPORT_WS, { headers: { 'x-forwarded-for': ip } });

const unknownToken = (): string => generateBearerToken();

const authFailedRows = (ips: string[]) =>
  sql<{ ip: string; detail: string }>(
    `select ip, detail from audit_events where action = 'auth.failed' and ip = any($1::text[])`,
    [ips],
  );

describe('auditing failed authentications', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startSharedGateway({ env: { KEYWARD_TRUST_PROXY: 'loopback' } });
  });
  afterAll(() => gw?.stop());

  test('one client: one auth.failed row per reason a minute, however many refusals it causes', async () => {
    const ip = uniqueIp();
    const headers = { 'x-forwarded-for': ip };
    for (let i = 0; i < 40; i++) {
      const unknown = await gql(gw.url, '{ me { id } }', undefined, unknownToken(), headers);
      expect(unknown.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const malformed = await gql(gw.url, '{ me { id } }', undefined, undefined, {
        ...headers,
        authorization: 'Bearer nonsense',
      });
      expect(malformed.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    for (let i = 0; i < 20; i++) {
      const socket = socketFrom(gw, ip);
      await opened(socket);
      const whenClosed = closed(socket);
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: bearer(unknownToken()) } }));
      expect((await whenClosed).code).toBe(4403);
    }

    const rows = await authFailedRows([ip]);
    expect(rows.map((row) => (JSON.parse(row.detail) as { reason: string }).reason).sort()).toEqual([
      'malformed',
      'unknown',
    ]);
  });

  test('many clients: at most 60 auth.failed rows a minute per process', async () => {
    const ips = Array.from({ length: 100 }, uniqueIp);
    for (const ip of ips) {
      const res = await gql(gw.url, '{ me { id } }', undefined, unknownToken(), { 'x-forwarded-for': ip });
      expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    const rows = await authFailedRows(ips);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(60);
    // The gateway still serves valid tokens.
    expect((await gql(gw.url, '{ me { id } }', undefined, gw.platformToken)).errors).toBeUndefined();
  });
});

describe('WebSockets without a valid token', () => {
  let gw: TestGateway;
  const sockets: WebSocket[] = [];
  const hold = async (ip: string): Promise<WebSocket> => {
    const socket = socketFrom(gw, ip);
    sockets.push(socket);
    await opened(socket);
    return socket;
  };
  /** A socket from `ip` that the server closes at once; resolves with its close code. */
  const refusedCode = async (ip: string): Promise<number> => {
    const socket = socketFrom(gw, ip);
    const whenClosed = closed(socket);
    await opened(socket);
    return (await whenClosed).code;
  };
  const closeAll = async (held: WebSocket[]) => {
    await Promise.all(
      held.map((socket) => {
        const whenClosed = closed(socket);
        socket.close();
        return whenClosed;
      }),
    );
  };

  beforeAll(async () => {
    gw = await startSharedGateway({
      env: {
        KEYWARD_TRUST_PROXY: 'loopback',
        KEYWARD_WS_MAX_UNAUTHENTICATED_PER_IP: '3',
        KEYWARD_WS_MAX_UNAUTHENTICATED_TOTAL: '5',
      },
    });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await gw?.stop();
  });

  test('beyond KEYWARD_WS_MAX_UNAUTHENTICATED_PER_IP a new socket from that address is closed with 1013; others are served', async () => {
    const crowded = uniqueIp();
    const held = [await hold(crowded), await hold(crowded), await hold(crowded)];
    expect(await refusedCode(crowded)).toBe(1013);

    // Another address, with a token: served.
    const elsewhere = await overWs({ wsUrl: gw.wsUrl }, gw.platformToken, '{ me { id } }');
    expect(elsewhere.errors).toBeUndefined();

    // Sockets that authenticated do not count: four at once from one address all work.
    const busy = uniqueIp();
    const authenticated: WebSocket[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = socketFrom(gw, busy);
      sockets.push(socket);
      await opened(socket);
      const ack = nextMessage(socket, 'connection_ack');
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: bearer(gw.platformToken) } }));
      await ack;
      authenticated.push(socket);
    }
    for (const [index, socket] of authenticated.entries()) {
      const next = nextMessage(socket, 'next');
      socket.send(JSON.stringify({ id: String(index), type: 'subscribe', payload: { query: '{ __typename }' } }));
      expect(((await next).payload as { data: unknown }).data).toEqual({ __typename: 'Query' });
    }

    // A closed socket frees its slot.
    await closeAll(held);
    await closeAll(authenticated);
    const again = await hold(crowded);
    await closeAll([again]);
  });

  test('beyond KEYWARD_WS_MAX_UNAUTHENTICATED_TOTAL a new socket from any address is closed with 1013', async () => {
    const first = uniqueIp();
    const second = uniqueIp();
    const held = [await hold(first), await hold(first), await hold(first), await hold(second), await hold(second)];
    expect(await refusedCode(second)).toBe(1013);
    expect(await refusedCode(uniqueIp())).toBe(1013);

    await closeAll(held);
    const served = await overWs({ wsUrl: gw.wsUrl }, gw.platformToken, '{ me { id } }');
    expect(served.errors).toBeUndefined();
  });
});

describe('KEYWARD_WS_UNAUTHENTICATED_TIMEOUT_MS', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startSharedGateway({ env: { KEYWARD_WS_UNAUTHENTICATED_TIMEOUT_MS: '300' } });
  });
  afterAll(() => gw?.stop());

  test('a socket without a token is closed with 4401 when its time is up; an authenticated one stays open', async () => {
    const anonymous = await initializedSocket(gw);
    const authenticated = await initializedSocket(gw, gw.platformToken);
    expect((await closed(anonymous)).code).toBe(4401);

    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(authenticated.readyState).toBe(WebSocket.OPEN);
    const next = nextMessage(authenticated, 'next');
    authenticated.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } }));
    expect(((await next).payload as { data: unknown }).data).toEqual({ __typename: 'Query' });
    authenticated.close();
  });
});

describe('the default limits', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startSharedGateway();
  });
  afterAll(() => gw?.stop());

  // A chat backend or a load test opens many sockets at once from one address: each counts as
  // unauthenticated until its connection_init is accepted, and none may be refused for that.
  test('64 sockets opened at once from one address, then authenticated, are all served', async () => {
    const sockets = Array.from({ length: 64 }, () => socketFrom(gw, '127.0.0.1'));
    try {
      await Promise.all(sockets.map(opened));
      await Promise.all(
        sockets.map((socket) => {
          const ack = nextMessage(socket, 'connection_ack');
          socket.send(
            JSON.stringify({ type: 'connection_init', payload: { authorization: bearer(gw.platformToken) } }),
          );
          return ack;
        }),
      );
      const answers = await Promise.all(
        sockets.map((socket) => {
          const answer = nextMessage(socket, 'next');
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ me { role } }' } }));
          return answer;
        }),
      );
      expect(answers.map((answer) => (answer.payload as { data?: { me?: { role?: string } } }).data?.me?.role)).toEqual(
        Array(64).fill('PLATFORM_ADMIN'),
      );
    } finally {
      for (const socket of sockets) socket.close();
    }
  });
});
