import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a key-check server received: what a test asserts on (the key, the path, the body). */
export interface KeyCheckRequest {
  method: string;
  path: string;
  /** The raw `Authorization` header. */
  authorization: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

/** How the server answers: normally, with an outage status, or by dropping the connection. */
export type KeyCheckMode = 'normal' | 'outage' | 'drop';

export interface KeyCheckServer {
  baseURL: string;
  requests: KeyCheckRequest[];
  setMode(mode: KeyCheckMode): void;
  reset(): void;
  close(): Promise<void>;
}

export type KeyCheckHandler = (request: KeyCheckRequest, res: ServerResponse) => void;

/** A loopback HTTP server that records every request and hands the `normal` ones to `handle`. */
export async function startKeyCheckServer(
  handle: KeyCheckHandler,
  outage: (res: ServerResponse) => void,
): Promise<KeyCheckServer> {
  const requests: KeyCheckRequest[] = [];
  let mode: KeyCheckMode = 'normal';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: KeyCheckRequest = {
        method: req.method ?? 'GET',
        path: new URL(req.url ?? '/', 'http://127.0.0.1').pathname,
        authorization: req.headers.authorization,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      if (mode === 'drop') req.socket.destroy();
      else if (mode === 'outage') outage(res);
      else handle(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}`,
    requests,
    setMode: (next) => {
      mode = next;
    },
    reset: () => {
      requests.length = 0;
      mode = 'normal';
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
