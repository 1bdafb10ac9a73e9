import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { batchedSender } from '../../../../src/server/ws/batched-sender';
import { textFrames } from '../../../../src/server/ws/text-frames';

/**
 * A real ws server and client on loopback. The server-side TCP socket's `_write`/`_writev` are
 * wrapped (passing through) to count how many writes reach the kernel.
 */
describe('batchedSender', () => {
  let server: Server;
  let wss: WebSocketServer;

  async function listen(options: { perMessageDeflate?: boolean } = {}) {
    server = createServer();
    wss = new WebSocketServer({ server, ...options });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }

  beforeEach(() => listen());

  afterEach(() => closeServer());

  async function closeServer() {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async function connect(clientOptions: { perMessageDeflate?: boolean } = {}) {
    const accepted = new Promise<[WebSocket, IncomingMessage]>((resolve) =>
      wss.once('connection', (socket, request) => resolve([socket, request])),
    );
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, clientOptions);
    const received: string[] = [];
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    client.on('message', (data) => received.push(String(data)));
    const [[socket, request]] = await Promise.all([accepted, new Promise((resolve) => client.once('open', resolve))]);
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
    return { sender: batchedSender(socket, transport), socket, client, received, writes, arrived, closed };
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

  it('delivers messages of every frame length and any UTF-8 whole and in order', async () => {
    const { sender, writes, arrived } = await connect();
    const messages = [
      '',
      'x'.repeat(125),
      'x'.repeat(126),
      'é'.repeat(40_000), // 80,000 bytes: a 64-bit length
      'x'.repeat(65_535),
      'x'.repeat(65_536),
      'naïve 😀 \u2028 "quoted" \\ text',
      'lone surrogate \ud800 here',
    ];
    for (const message of messages) void sender.send(message);
    const received = await arrived(messages.length);
    expect(received).toEqual(messages.map((message) => Buffer.from(message).toString()));
    expect(writes.count).toBe(1);
  });

  it('closes after the messages sent before, so the close frame does not overtake them', async () => {
    const { sender, received, closed } = await connect();
    void sender.send('the last word');
    sender.close(4400, 'Invalid message received');
    expect(await closed).toBe(4400);
    expect(received).toEqual(['the last word']);
  });

  it('sends nothing kept for a socket that closed before the write', async () => {
    const { sender, socket, writes, closed } = await connect();
    void sender.send('too late');
    socket.terminate();
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes.count).toBe(0);
  });

  it('goes through ws per message when the socket negotiated an extension (permessage-deflate)', async () => {
    await closeServer();
    await listen({ perMessageDeflate: true });
    const { socket, sender, arrived } = await connect({ perMessageDeflate: true });
    expect(socket.extensions).toContain('permessage-deflate');
    void sender.send('compressed one');
    void sender.send('compressed two');
    expect(await arrived(2)).toEqual(['compressed one', 'compressed two']);
  });

  it('makes the sender wait while the client does not read, and lets it go once it does', async () => {
    const { sender, client, arrived } = await connect();
    client.pause();
    const chunk = 'y'.repeat(64 * 1024);
    let sent = 0;
    let waited: Promise<void> | void;
    while (!(waited = sender.send(chunk))) {
      sent++;
      if (sent % 4 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    sent++;
    let released = false;
    void waited.then(() => (released = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(released).toBe(false);
    client.resume();
    await waited;
    expect(await arrived(sent)).toHaveLength(sent);
  });
});

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
/** ws's own framing: its package exports the Sender, which @types/ws does not declare. */
const { Sender } = jest.requireActual<{ Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } }>('ws');

describe('textFrames', () => {
  it("is byte for byte what ws's own Sender frames for each message", () => {
    const messages = ['', 'a', 'x'.repeat(125), 'x'.repeat(126), 'ü'.repeat(40_000), 'x'.repeat(70_000), '😀'];
    const wsFrames = messages.map((message) => {
      const data = Buffer.from(message);
      const framed = Sender.frame(data, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
      return Buffer.concat(framed);
    });
    expect(textFrames(messages).equals(Buffer.concat(wsFrames))).toBe(true);
    expect(textFrames([]).length).toBe(0);
  });
});
