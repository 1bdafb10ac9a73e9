/**
 * A diagnostic, not part of the gateway: the least a graphql-ws chat gateway can do, to measure
 * what any gateway costs on a machine before it authenticates, plans, admits or records anything.
 *
 * It answers `connection_init` with `connection_ack` (the bearer token compared, nothing looked
 * up), and each `subscribe` with one streamed POST to `${ANTHROPIC_BASE_URL}/v1/messages` on a
 * keep-alive agent with the platform key; every upstream read becomes one `next` frame carrying
 * the text of the `content_block_delta` events in it (as Keyward coalesces what arrives together),
 * and the `message_stop` event a `complete`. No GraphQL, no database, no vault, no usage, no
 * audit, no cancellation, no error mapping: it exists to be measured, never to be run for users.
 *
 * It reads the environment peerbench gives the gateway (PORT, HOST, ANTHROPIC_BASE_URL,
 * ANTHROPIC_API_KEY, KEYWARD_BOOTSTRAP_TOKEN), so bench/diagnostics/relay-floor.sh can run it in
 * Keyward's place in peerbench's side-by-side run.
 */
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';

const port = Number(process.env.PORT ?? 4000);
const host = process.env.HOST ?? '127.0.0.1';
const upstream = new URL('/v1/messages', process.env.ANTHROPIC_BASE_URL ?? 'http://127.0.0.1:9001');
const apiKey = process.env.ANTHROPIC_API_KEY ?? '';
const expectedAuthorization = `Bearer ${process.env.KEYWARD_BOOTSTRAP_TOKEN ?? ''}`;
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

interface SubscribeMessage {
  type: 'subscribe';
  id: string;
  payload: { variables?: { i?: { message?: string; model?: string; maxTokens?: number } } };
}

type ClientMessage =
  | { type: 'connection_init'; payload?: { authorization?: string } }
  | { type: 'ping' }
  | SubscribeMessage
  | { type: 'complete'; id: string };

const server = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404).end();
});
const sockets = new WebSocketServer({ server, path: '/graphql' });

sockets.on('connection', (socket) => {
  let acknowledged = false;
  socket.on('message', (data: RawData) => {
    const message = JSON.parse(data.toString()) as ClientMessage;
    switch (message.type) {
      case 'connection_init':
        if (message.payload?.authorization !== expectedAuthorization) return socket.close(4403, 'Forbidden');
        acknowledged = true;
        return socket.send('{"type":"connection_ack"}');
      case 'ping':
        return socket.send('{"type":"pong"}');
      case 'subscribe':
        if (!acknowledged) return socket.close(4401, 'Unauthorized');
        return relay(socket, message);
      case 'complete':
        return;
    }
  });
});

function relay(socket: WebSocket, { id, payload }: SubscribeMessage): void {
  const input = payload.variables?.i ?? {};
  const body = JSON.stringify({
    model: input.model ?? 'claude-haiku-4-5',
    max_tokens: input.maxTokens ?? 256,
    messages: [{ role: 'user', content: input.message ?? '' }],
    stream: true,
  });
  const nextPrefix = `{"id":${JSON.stringify(id)},"type":"next","payload":{"data":{"chat":{"__typename":"ChatDelta","text":`;
  const call = request(upstream, {
    method: 'POST',
    agent,
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-api-key': apiKey,
      'anthropic-version': '2023-06-01',
    },
  });
  call.on('response', (response: IncomingMessage) => {
    response.setEncoding('utf8');
    let pending = '';
    response.on('data', (chunk: string) => {
      pending += chunk;
      const lastBoundary = pending.lastIndexOf('\n\n');
      if (lastBoundary < 0) return;
      const events = pending.slice(0, lastBoundary);
      pending = pending.slice(lastBoundary + 2);
      let text = '';
      let stopped = false;
      for (const event of events.split('\n\n')) {
        const dataStart = event.indexOf('data: ');
        if (dataStart < 0) continue;
        const data = JSON.parse(event.slice(dataStart + 6)) as { type: string; delta?: { text?: string } };
        if (data.type === 'content_block_delta') text += data.delta?.text ?? '';
        else if (data.type === 'message_stop') stopped = true;
      }
      if (text) socket.send(`${nextPrefix}${JSON.stringify(text)}}}}}`);
      if (stopped) socket.send(`{"id":${JSON.stringify(id)},"type":"complete"}`);
    });
  });
  call.on('error', () => socket.send(`{"id":${JSON.stringify(id)},"type":"error","payload":[{"message":"upstream"}]}`));
  call.end(body);
}

server.listen(port, host);
