import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { batchedSender } from '../../../../src/server/ws/batched-sender';

/**
 * A real ws server and client on loopback. The server-side TCP socket's `_write`/`_writev` are
 * wrapped (passing through) to count how many writes reach the kernel.
 */
describe('batchedSender', () => {
  let server: Server;
  let wss: WebSocketServer;

  beforeEach(async () => {
    server = createServer();
    wss = new WebSocketServer({ server });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function connect() {
    const accepted = new Promise<[WebSocket, IncomingMessage]>((resolve) =>
      wss.once('connection', (socket, request) => resolve([socket, request])),
    );
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const received: string[] = [];
    client.on('message', (data) => received.push(String(data)));
    const [socket, request] = await accepted;
    const transport = request.socket as Socket & {
      _write: (...args: unknown[]) => void;
      _writev: (...args: unknown[]) => void;
    };
    const writes = { count: 0 };
    for (const method of ['_write', '_writev'] as const) {
      const original = transport[method].bind(transport);
      transport[method] = (...args: unknown[]) => {
        writes.count++;
        original(...args);
      };
    }
    const arrived = async (count: number) => {
      while (received.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
      return received;
    };
    return { sender: batchedSender(socket, transport), writes, arrived };
  }

  const promiseHops = async (hops: number) => {
    for (let hop = 0; hop < hops; hop++) await Promise.resolve();
  };

  it('writes the messages of one synchronous run in one write', async () => {
    const { sender, writes, arrived } = await connect();
    void sender.send('one');
    void sender.send('two');
    void sender.send('three');
    expect(await arrived(3)).toEqual(['one', 'two', 'three']);
    expect(writes.count).toBe(1);
  });

  it('writes messages separated by promise callbacks separately, unless held to the end of the turn', async () => {
    const separate = await connect();
    void separate.sender.send('last event');
    await promiseHops(5);
    void separate.sender.send('complete');
    expect(await separate.arrived(2)).toEqual(['last event', 'complete']);
    expect(separate.writes.count).toBe(2);

    const held = await connect();
    held.sender.holdUntilTurnEnd();
    void held.sender.send('last event');
    await promiseHops(5);
    void held.sender.send('complete');
    expect(await held.arrived(2)).toEqual(['last event', 'complete']);
    expect(held.writes.count).toBe(1);

    // After the turn the socket writes per synchronous run again.
    void held.sender.send('later');
    await promiseHops(5);
    void held.sender.send('and later');
    expect(await held.arrived(4)).toEqual(['last event', 'complete', 'later', 'and later']);
    expect(held.writes.count).toBe(3);
  });

  it('holding while already corked keeps one write, and holding twice releases once', async () => {
    const { sender, writes, arrived } = await connect();
    void sender.send('a');
    sender.holdUntilTurnEnd();
    sender.holdUntilTurnEnd();
    await promiseHops(5);
    void sender.send('b');
    expect(await arrived(2)).toEqual(['a', 'b']);
    expect(writes.count).toBe(1);
    void sender.send('c');
    expect(await arrived(3)).toEqual(['a', 'b', 'c']);
    expect(writes.count).toBe(2);
  });
});
