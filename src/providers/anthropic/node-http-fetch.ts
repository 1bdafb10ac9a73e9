import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

/**
 * The `fetch` the Anthropic SDK clients use: node:http(s) with keep-alive agents, returning a
 * Response whose body is the Node response stream itself. The SDK reads any body that is async
 * iterable directly (internal/shims.ts, readableStreamIterator), so a streamed reply reaches its
 * SSE parser without a WHATWG ReadableStream in between; with Node's global fetch (undici), the
 * web-stream machinery around every chunk cost more CPU than relaying the events. Only what the
 * SDK uses is implemented: method, headers, a string or byte body, and `signal`, which destroys
 * the request (and so closes the upstream socket) at once.
 */
export function createNodeHttpFetch(): typeof fetch {
  const agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };

  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const protocol = url.protocol as keyof typeof agents;
      if (!(protocol in agents)) return reject(new TypeError(`Unsupported protocol ${url.protocol}`));
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(abortError(signal));

      const headers = new Headers(init.headers);
      // Bodies are read as sent: nothing here decompresses them.
      headers.set('accept-encoding', 'identity');
      const request = (protocol === 'https:' ? https : http).request(url, {
        method: init.method ?? 'GET',
        headers: Object.fromEntries(headers.entries()),
        agent: agents[protocol],
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
      request.once('error', reject); // before the response; afterwards the body stream fails instead
      request.once('response', (started) => {
        response = started;
        resolve(responseOf(url, started));
      });
      request.end(bodyOf(init.body));
    });
}

function bodyOf(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  throw new TypeError('Only string and byte request bodies are supported');
}

function responseOf(url: URL, response: IncomingMessage): Response {
  const headers = new Headers();
  for (let i = 0; i < response.rawHeaders.length; i += 2) headers.append(response.rawHeaders[i], response.rawHeaders[i + 1]);
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
    body: response as unknown as ReadableStream<Uint8Array>,
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
