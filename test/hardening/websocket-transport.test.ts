import { type TestGateway } from '../support/gateway';
import {
  closed,
  initializedSocket,
  nextMessage,
  opened,
  overWs,
  rawSocket,
  refusedStatus,
  startGateway,
  startGateways,
} from './helpers';

const subscribeMessage = (id: string, query: string) => JSON.stringify({ id, type: 'subscribe', payload: { query } });

describe('WebSocket transport', () => {
  describe('maxPayload', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway({ env: { KEYWARD_WS_MAX_PAYLOAD_BYTES: '2048' } });
    });
    afterAll(() => gw?.stop());

    it('answers a message within the limit', async () => {
      const socket = await initializedSocket(gw, gw.platformToken);
      const padded = `{ __typename ${' '.repeat(1800)}}`;
      const message = subscribeMessage('1', padded);
      expect(Buffer.byteLength(message)).toBeLessThanOrEqual(2048);
      const next = nextMessage(socket, 'next');
      socket.send(message);
      expect(((await next).payload as { data: unknown }).data).toEqual({ __typename: 'Query' });
      socket.close();
    });

    it('closes the socket with 1009 on a bigger message, and keeps serving others', async () => {
      const socket = await initializedSocket(gw, gw.platformToken);
      const whenClosed = closed(socket);
      socket.send(subscribeMessage('1', `{ __typename ${' '.repeat(2100)}}`));
      expect((await whenClosed).code).toBe(1009);
      expect(gw.logs.text).toContain('WebSocket client broke the protocol');

      const after = await overWs(gw, gw.platformToken, '{ __typename }');
      expect(after.data).toEqual({ __typename: 'Query' });
      const health = await fetch(gw.url.replace('/graphql', '/healthz'));
      expect(health.status).toBe(200);
    });

    it('defaults to 1 MiB', async () => {
      const [byDefault] = await startGateways({});
      try {
        const fits = await initializedSocket(byDefault, byDefault.platformToken);
        const next = nextMessage(fits, 'next');
        fits.send(subscribeMessage('1', `{ __typename ${' '.repeat(1024 * 1024 - 200)}}`));
        expect(((await next).payload as { data: unknown }).data).toEqual({ __typename: 'Query' });
        fits.close();

        const tooBig = await initializedSocket(byDefault, byDefault.platformToken);
        const whenClosed = closed(tooBig);
        tooBig.send(subscribeMessage('1', `{ __typename ${' '.repeat(1024 * 1024)}}`));
        expect((await whenClosed).code).toBe(1009);
      } finally {
        await byDefault.stop();
      }
    });
  });

  describe('protocol violations', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway();
    });
    afterAll(() => gw?.stop());

    it.each([
      ['next', { id: '1', type: 'next', payload: { data: {} } }],
      ['error', { id: '1', type: 'error', payload: [{ message: 'x' }] }],
      ['connection_ack', { type: 'connection_ack' }],
    ])('closes the socket with 4400 when a client sends a server-only "%s" message', async (_type, message) => {
      const socket = await initializedSocket(gw, gw.platformToken);
      const whenClosed = closed(socket);
      socket.send(JSON.stringify(message));
      expect(await whenClosed).toEqual({ code: 4400, reason: 'Invalid message received' });
    });

    it('closes the socket with 4400 on a message that is not JSON', async () => {
      const socket = await initializedSocket(gw, gw.platformToken);
      const whenClosed = closed(socket);
      socket.send('{nope');
      expect((await whenClosed).code).toBe(4400);
    });
  });

  describe('connection-init timeout and keep-alive', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway({ env: { KEYWARD_WS_INIT_TIMEOUT_MS: '300', KEYWARD_WS_KEEPALIVE_MS: '100' } });
    });
    afterAll(() => gw?.stop());

    it('closes a socket that sends no connection_init in time with 4408', async () => {
      const socket = rawSocket(gw.wsUrl);
      await opened(socket);
      const startedAt = Date.now();
      const { code } = await closed(socket);
      expect(code).toBe(4408);
      expect(Date.now() - startedAt).toBeLessThan(2000);
    });

    it('keeps an initialised socket open and pings it every KEYWARD_WS_KEEPALIVE_MS', async () => {
      const socket = await initializedSocket(gw, gw.platformToken);
      let pings = 0;
      socket.on('ping', () => (pings += 1));
      await new Promise((resolve) => setTimeout(resolve, 550));
      expect(pings).toBeGreaterThanOrEqual(3);
      expect(socket.readyState).toBe(socket.OPEN); // past the init timeout, and ws answers pings itself
      socket.close();
    });

    it('terminates a socket that stops answering pings', async () => {
      const socket = rawSocket(gw.wsUrl, { autoPong: false });
      await opened(socket);
      const ack = nextMessage(socket, 'connection_ack');
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      await ack;
      const startedAt = Date.now();
      const { code } = await closed(socket);
      expect(code).toBe(1006); // terminated: no closing handshake
      expect(Date.now() - startedAt).toBeLessThan(1000);
    });
  });

  describe('allowed origins', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway({ env: { KEYWARD_ALLOWED_ORIGINS: 'https://app.example.test, http://localhost:5173/' } });
    });
    afterAll(() => gw?.stop());

    it.each(['https://evil.example.test', 'http://app.example.test', 'https://app.example.test:8443', 'null'])(
      'refuses an upgrade from %s with 403',
      async (origin) => {
        expect(await refusedStatus(rawSocket(gw.wsUrl, { origin }))).toBe(403);
      },
    );

    it.each(['https://app.example.test', 'http://localhost:5173'])('accepts an upgrade from %s', async (origin) => {
      const socket = rawSocket(gw.wsUrl, { origin });
      await opened(socket);
      const ack = nextMessage(socket, 'connection_ack');
      socket.send(
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${gw.platformToken}` } }),
      );
      await ack;
      const next = nextMessage(socket, 'next');
      socket.send(subscribeMessage('1', '{ me { id } }'));
      expect(((await next).payload as { data: { me: { id: string } } }).data.me.id).toEqual(expect.any(String));
      socket.close();
    });

    it('accepts a client that sends no Origin (non-browser clients)', async () => {
      const outcome = await overWs(gw, gw.platformToken, '{ __typename }');
      expect(outcome.data).toEqual({ __typename: 'Query' });
    });

    it('leaves plain HTTP requests alone', async () => {
      const response = await fetch(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://evil.example.test' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(response.status).toBe(200);
    });
  });

  describe('without KEYWARD_ALLOWED_ORIGINS', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway();
    });
    afterAll(() => gw?.stop());

    it('accepts any origin', async () => {
      const socket = rawSocket(gw.wsUrl, { origin: 'https://anywhere.example.test' });
      await opened(socket);
      socket.close();
    });
  });
});
