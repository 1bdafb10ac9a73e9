import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { abortingOn, createNodeHttpFetch } from '../../src/providers/node-http-fetch';

/**
 * The fetch the provider SDK clients use (src/providers/node-http-fetch.ts), against a
 * real HTTP server: what it sends, what it hands back, and how it stops. The chat suites cover
 * it end to end through the SDK (streams, every failure mode, cancellation within 100 ms).
 */

let server: Server;
let base: string;
const received: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];
let closedSockets = 0;
/** Requests seen per connection, for the routes that reset connections. */
const requestsPerSocket = new WeakMap<object, number>();
const sockets = new Set<object>();

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    received.push({ method: req.method, url: req.url, headers: req.headers, body });
    req.socket.once('close', () => closedSockets++);
    const onThisSocket = (requestsPerSocket.get(req.socket) ?? 0) + 1;
    requestsPerSocket.set(req.socket, onThisSocket);
    sockets.add(req.socket);
    if (req.url === '/reset' || (req.url === '/reset-reused' && onThisSocket > 1)) {
      // What a client sees when the server's idle timer closed the connection under the request.
      req.socket.destroy();
      return;
    }
    if (req.url === '/reset-reused') {
      res.end('answered');
      return;
    }
    if (req.url === '/error') {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }));
    } else if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'set-cookie': ['a=1', 'b=2'] });
      res.write('event: one\ndata: 1\n\n');
      setTimeout(() => res.end('event: two\ndata: 2\n\n'), 20);
    } else if (req.url?.startsWith('/echo')) {
      res.end(req.url);
    } else if (req.url === '/hang') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: one\ndata: 1\n\n'); // and never ends
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const fetchLean = createNodeHttpFetch();

async function readAll(body: unknown): Promise<string> {
  let text = '';
  for await (const chunk of body as AsyncIterable<Buffer>) text += chunk.toString('utf8');
  return text;
}

test('sends method, headers and body; hands back status, headers and the body as it streams', async () => {
  const response = await fetchLean(`${base}/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'not-a-real-key' },
    body: JSON.stringify({ hello: 'world' }),
  });
  expect(response.ok).toBe(true);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
  expect(await readAll(response.body)).toBe('event: one\ndata: 1\n\nevent: two\ndata: 2\n\n');

  const request = received.at(-1)!;
  expect(request).toMatchObject({ method: 'POST', url: '/stream', body: '{"hello":"world"}' });
  expect(request.headers['x-api-key']).toBe('not-a-real-key');
  expect(request.headers['accept-encoding']).toBe('identity');
});

test('an error answer is readable with text() and json()', async () => {
  const response = await fetchLean(`${base}/error`, { method: 'POST', body: '{}' });
  expect(response.ok).toBe(false);
  expect(response.status).toBe(429);
  expect(response.headers.get('retry-after')).toBe('3');
  expect(await response.json()).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
});

test('a signal aborted beforehand sends nothing and rejects with an AbortError', async () => {
  const before = received.length;
  const controller = new AbortController();
  controller.abort();
  await expect(fetchLean(`${base}/stream`, { signal: controller.signal })).rejects.toMatchObject({
    name: 'AbortError',
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(received.length).toBe(before);
});

test('aborting mid-body ends the body with an error and closes the connection at once', async () => {
  const controller = new AbortController();
  const response = await fetchLean(`${base}/hang`, { method: 'POST', body: '{}', signal: controller.signal });
  const iterator = (response.body as unknown as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  expect((await iterator.next()).value.toString('utf8')).toBe('event: one\ndata: 1\n\n');
  const closedBefore = closedSockets;
  const abortedAt = Date.now();
  controller.abort();
  await expect(iterator.next()).rejects.toMatchObject({ name: 'AbortError' });
  while (closedSockets === closedBefore) {
    if (Date.now() - abortedAt > 1_000) throw new Error('the server never saw the connection close');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(Date.now() - abortedAt).toBeLessThan(100);
});

test('each URL reaches its own path and query, on the connection the first one opened', async () => {
  const fetchOwnPool = createNodeHttpFetch();
  sockets.clear();
  const urls = ['/echo/a', '/echo/b?x=1', '/echo/a', '/echo/b?x=2', '/echo/c?y=%20z'];
  const answers: string[] = [];
  for (const url of urls) answers.push(await (await fetchOwnPool(`${base}${url}`)).text());
  expect(answers).toEqual(urls);
  expect(sockets.size).toBe(1);
});

describe('the caller’s signal, handed over with abortingOn', () => {
  test('aborting it mid-body ends the body with the AbortError and closes the connection at once', async () => {
    const controller = new AbortController();
    const response = await fetchLean(`${base}/hang`, { method: 'POST', body: '{}', ...abortingOn(controller.signal) });
    const iterator = (response.body as unknown as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    expect((await iterator.next()).value.toString('utf8')).toBe('event: one\ndata: 1\n\n');
    const closedBefore = closedSockets;
    const abortedAt = Date.now();
    controller.abort();
    await expect(iterator.next()).rejects.toMatchObject({ name: 'AbortError' });
    while (closedSockets === closedBefore) {
      if (Date.now() - abortedAt > 1_000) throw new Error('the server never saw the connection close');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(Date.now() - abortedAt).toBeLessThan(100);
  });

  test('aborted beforehand: nothing is sent and the fetch rejects with an AbortError', async () => {
    const before = received.length;
    const controller = new AbortController();
    controller.abort();
    await expect(fetchLean(`${base}/stream`, { ...abortingOn(controller.signal) })).rejects.toMatchObject({
      name: 'AbortError',
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received.length).toBe(before);
  });

  test('the fetch’s own signal still aborts it too', async () => {
    const caller = new AbortController();
    const own = new AbortController();
    const response = await fetchLean(`${base}/hang`, {
      method: 'POST',
      body: '{}',
      signal: own.signal,
      ...abortingOn(caller.signal),
    });
    const iterator = (response.body as unknown as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    await iterator.next();
    own.abort();
    await expect(iterator.next()).rejects.toMatchObject({ name: 'AbortError' });
  });
});

test('a refused connection rejects', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  await expect(fetchLean(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({
    name: 'TypeError',
    cause: { code: 'ECONNREFUSED' },
  });
});

describe('a connection the server closed under the request', () => {
  test('on a reused connection, before any answer: sent again on a new connection', async () => {
    const fetchOwnPool = createNodeHttpFetch();
    const before = received.length;
    sockets.clear();
    expect(await (await fetchOwnPool(`${base}/reset-reused`, { method: 'POST', body: '{"n":1}' })).text()).toBe(
      'answered',
    );
    const second = await fetchOwnPool(`${base}/reset-reused`, { method: 'POST', body: '{"n":2}' });
    expect(second.status).toBe(200);
    expect(await second.text()).toBe('answered');
    // The second request went out on the first connection, was cut off, and was sent once more.
    expect(received.slice(before).map((request) => request.body)).toEqual(['{"n":1}', '{"n":2}', '{"n":2}']);
    expect(sockets.size).toBe(2);
  });

  test('on a new connection: not sent again; the reset reaches the caller', async () => {
    const fetchOwnPool = createNodeHttpFetch();
    const before = received.length;
    await expect(fetchOwnPool(`${base}/reset`, { method: 'POST', body: '{}' })).rejects.toMatchObject({
      name: 'TypeError',
      cause: { code: 'ECONNRESET' },
    });
    expect(received.length - before).toBe(1);
  });

  test('a reused connection that keeps failing: at most two more tries, then the reset', async () => {
    const fetchOwnPool = createNodeHttpFetch();
    // Three pooled connections, each already used once.
    await Promise.all([1, 2, 3].map(async () => (await fetchOwnPool(`${base}/reset-reused`)).text()));
    const before = received.length;
    await expect(fetchOwnPool(`${base}/reset`, { method: 'POST', body: '{}' })).rejects.toMatchObject({
      name: 'TypeError',
      cause: { code: 'ECONNRESET' },
    });
    expect(received.length - before).toBe(3);
  });
});
