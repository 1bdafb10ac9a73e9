import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

/**
 * The `fetch` the provider SDK clients (Anthropic, OpenAI) use: node:http(s) with keep-alive agents, returning a
 * Response whose body is the Node response stream itself. The SDK reads any body that is async
 * iterable directly (internal/shims.ts, readableStreamIterator), so a streamed reply reaches its
 * SSE parser without a WHATWG ReadableStream in between; with Node's global fetch (undici), the
 * web-stream machinery around every chunk cost more CPU than relaying the events. Only what the
 * SDK uses is implemented: method, headers, a string or byte body, and `signal`, which destroys
 * the request (and so closes the upstream socket) at once. Network failures reject as fetch's do
 * (a TypeError whose cause holds the code), after the resends described at
 * MAX_STALE_CONNECTION_RETRIES.
 */
export function createNodeHttpFetch(): typeof fetch {
  const agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };

  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const protocol = url.protocol as keyof typeof agents;
    if (!(protocol in agents)) throw new TypeError(`Unsupported protocol ${url.protocol}`);
    const headers: Record<string, string> = {};
    // The SDK passes a Headers; anything else is normalised through one.
    (init.headers instanceof Headers ? init.headers : new Headers(init.headers)).forEach((value, name) => {
      headers[name] = value;
    });
    // Bodies are read as sent: nothing here decompresses them.
    headers['accept-encoding'] = 'identity';
    const exchange: Exchange = {
      url,
      module: protocol === 'https:' ? https : http,
      agent: agents[protocol],
      method: init.method ?? 'GET',
      headers,
      body: bodyOf(init.body),
      signal: init.signal ?? undefined,
    };
    for (let attempt = 1; ; attempt++) {
      try {
        return await send(exchange);
      } catch (error) {
        if (!(error instanceof StaleConnectionError) || attempt > MAX_STALE_CONNECTION_RETRIES) {
          throw error instanceof StaleConnectionError ? error.cause : error;
        }
      }
    }
  };
}

interface Exchange {
  url: URL;
  module: typeof http | typeof https;
  agent: http.Agent;
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  signal: AbortSignal | undefined;
}

/**
 * A pooled keep-alive connection can be closed by the server just as a request goes out on it:
 * the server's idle timer fired first, and the request met a connection already given up. A
 * request that fails that way (reset or closed on a reused connection, before any byte of an
 * answer) is sent again, as browsers do for the same race; a new connection that fails is not
 * retried, and neither is anything after the answer has started.
 */
const MAX_STALE_CONNECTION_RETRIES = 2;
const STALE_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

class StaleConnectionError extends Error {
  constructor(override readonly cause: Error) {
    super('A reused keep-alive connection was closed before the answer started');
  }
}

function send(exchange: Exchange): Promise<Response> {
  const { signal } = exchange;
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const request = exchange.module.request(exchange.url, {
      method: exchange.method,
      headers: exchange.headers,
      agent: exchange.agent,
    });
    let response: IncomingMessage | undefined;
    // As with fetch, a body being read fails with the AbortError, and the socket closes at once.
    const abort = () => {
      const error = abortError(signal!);
      response?.destroy(error);
      request.destroy(error);
    };
    signal?.addEventListener('abort', abort, { once: true });
    request.once('close', () => signal?.removeEventListener('abort', abort));
    // Before the response; afterwards the body stream fails instead.
    request.once('error', (error: NodeJS.ErrnoException) => {
      if (signal?.aborted) return reject(abortError(signal));
      // As fetch does: a TypeError with the network error (and its code) as the cause.
      const failed = new TypeError('fetch failed', { cause: error });
      const stale = request.reusedSocket && STALE_CONNECTION_CODES.has(error.code ?? '');
      reject(stale ? new StaleConnectionError(failed) : failed);
    });
    request.once('response', (started) => {
      response = started;
      resolve(responseOf(exchange.url, started));
    });
    request.end(exchange.body);
  });
}

function bodyOf(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  throw new TypeError('Only string and byte request bodies are supported');
}

function responseOf(url: URL, response: IncomingMessage): Response {
  const headers = new Headers();
  for (let i = 0; i < response.rawHeaders.length; i += 2)
    headers.append(response.rawHeaders[i], response.rawHeaders[i + 1]);
  const status = response.statusCode ?? 0;
  const text = async (): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const partial: Partial<Response> = {
    ok: status >= 200 && status < 300,
    status,
    statusText: response.statusMessage ?? '',
    url: url.href,
    redirected: false,
    headers,
    // An async iterable of byte chunks, which is all the SDK asks of a body.
    body: response as unknown as Response['body'],
    text,
    json: async () => JSON.parse(await text()) as unknown,
  };
  return partial as Response;
}

function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}
