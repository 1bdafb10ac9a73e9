import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';

/**
 * The caller's AbortSignal, handed to this fetch as a field of its RequestInit through the SDK's
 * per-request `fetchOptions` (which the SDKs pass on to fetch as they are), see `abortingOn`.
 * Given it as their own `signal` option instead, the SDKs wrap it on every request: a listener
 * on it that aborts an AbortController of their own, and (Anthropic) the listener's cleanup kept
 * in a WeakMap and a FinalizationRegistry. With a stub fetch, that wiring alone about doubled the
 * CPU of the Anthropic SDK's request building.
 */
const CALLER_SIGNAL = Symbol('keyward.callerSignal');
/** What the request waits for before it leaves (see `abortingOn`). */
const SEND_AFTER = Symbol('keyward.sendAfter');

type NodeHttpRequestInit = RequestInit & { [CALLER_SIGNAL]?: AbortSignal; [SEND_AFTER]?: Promise<void> };

/**
 * The `fetchOptions` of an SDK call that `signal` aborts: this fetch then listens to `signal`
 * itself. Aborting it fails the call before the answer as an aborted fetch does, and closes the
 * upstream socket at once, answer started or not. The SDK's own signal (its timeout) still counts.
 *
 * With `sendAfter`, the SDK builds the request at once (URL, headers, body) but nothing goes out
 * before `sendAfter` resolves: a chat's call is prepared while its admission is still being
 * decided. If `signal` is aborted by then, the call fails as aborted and no byte is sent.
 */
export const abortingOn = (
  signal: AbortSignal,
  sendAfter?: Promise<void>,
): Omit<RequestInit, 'headers' | 'body' | 'method' | 'signal'> => {
  const init: NodeHttpRequestInit = { [CALLER_SIGNAL]: signal };
  if (sendAfter) init[SEND_AFTER] = sendAfter;
  return init;
};

declare const nodeHttpFetch: unique symbol;

/**
 * A fetch made by createNodeHttpFetch, the only kind that takes the caller's signal from
 * `abortingOn`: an SDK client given any other fetch would not be aborted by it.
 */
export type NodeHttpFetch = typeof fetch & { readonly [nodeHttpFetch]: true };

/**
 * The `fetch` the provider SDK clients (Anthropic, OpenAI) use: node:http(s) with keep-alive agents, returning a
 * Response whose body is the Node response stream itself. The SDK reads any body that is async
 * iterable directly (internal/shims.ts, readableStreamIterator), so a streamed reply reaches its
 * SSE parser without a WHATWG ReadableStream in between; with Node's global fetch (undici), the
 * web-stream machinery around every chunk cost more CPU than relaying the events. Only what the
 * SDK uses is implemented: method, headers, a string or byte body, and the signals (`signal` and
 * the caller's, see `abortingOn`), which destroy the request (and so close the upstream socket)
 * at once. Network failures reject as fetch's do (a TypeError whose cause holds the code), after
 * the resends described at MAX_STALE_CONNECTION_RETRIES.
 */
export function createNodeHttpFetch(): NodeHttpFetch {
  const destinations = new Destinations();

  const nodeFetch: typeof fetch = async (input, init: NodeHttpRequestInit = {}) => {
    const destination = destinations.of(input instanceof Request ? input.url : String(input));
    const headers: Record<string, string> = {};
    // The SDK passes a Headers; anything else is normalised through one.
    (init.headers instanceof Headers ? init.headers : new Headers(init.headers)).forEach((value, name) => {
      headers[name] = value;
    });
    // Bodies are read as sent: nothing here decompresses them.
    headers['accept-encoding'] = 'identity';
    const exchange: Exchange = {
      destination,
      method: init.method ?? 'GET',
      headers,
      body: bodyOf(init.body),
      signal: init.signal ?? undefined,
      callerSignal: init[CALLER_SIGNAL],
    };
    const sendAfter = init[SEND_AFTER];
    if (sendAfter) await sendAfter;
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
  return nodeFetch as NodeHttpFetch;
}

/** Where a URL's requests go, and over which keep-alive pool. */
interface Destination {
  href: string;
  module: typeof http | typeof https;
  agent: http.Agent;
  protocol: string;
  hostname: string;
  port: number | undefined;
  path: string;
  auth: string | undefined;
}

/**
 * Each URL parsed once: an SDK client sends all its calls to the same few URLs (base URL and
 * path), and parsing one again per request, then node:http turning the URL into options, showed
 * in CPU profiles. The providers' keys travel in headers, never in URLs, so nothing kept here is
 * secret. Bounded, in case a caller puts a query string that changes in every URL.
 */
class Destinations {
  private static readonly MAX = 256;
  private readonly agents = {
    'http:': new http.Agent({ keepAlive: true }),
    'https:': new https.Agent({ keepAlive: true }),
  };
  private readonly byUrl = new Map<string, Destination>();

  of(url: string): Destination {
    const known = this.byUrl.get(url);
    if (known) return known;
    const parsed = new URL(url);
    const protocol = parsed.protocol as keyof Destinations['agents'];
    if (!(protocol in this.agents)) throw new TypeError(`Unsupported protocol ${parsed.protocol}`);
    // As node:http turns a URL into request options (IPv6 brackets, credentials in the URL).
    const { hostname, port, path, auth } = urlToHttpOptions(parsed);
    const destination: Destination = {
      href: parsed.href,
      module: protocol === 'https:' ? https : http,
      agent: this.agents[protocol],
      protocol,
      hostname: hostname!,
      port: port === undefined || port === null ? undefined : Number(port),
      path: path!,
      auth: auth ?? undefined,
    };
    if (this.byUrl.size >= Destinations.MAX) this.byUrl.clear();
    this.byUrl.set(url, destination);
    return destination;
  }
}

interface Exchange {
  destination: Destination;
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  /** The SDK's own signal (its timeout). */
  signal: AbortSignal | undefined;
  /** The caller's, when it was handed over (`abortingOn`). */
  callerSignal: AbortSignal | undefined;
}

const abortedSignal = ({ signal, callerSignal }: Exchange): AbortSignal | undefined =>
  callerSignal?.aborted ? callerSignal : signal?.aborted ? signal : undefined;

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
  const { destination, signal, callerSignal } = exchange;
  return new Promise<Response>((resolve, reject) => {
    const abortedBefore = abortedSignal(exchange);
    if (abortedBefore) return reject(abortError(abortedBefore));
    const request = destination.module.request({
      protocol: destination.protocol,
      hostname: destination.hostname,
      port: destination.port,
      path: destination.path,
      auth: destination.auth,
      method: exchange.method,
      headers: exchange.headers,
      agent: destination.agent,
    });
    let response: IncomingMessage | undefined;
    // As with fetch, a body being read fails with the AbortError, and the socket closes at once.
    const abort = () => {
      const error = abortError(abortedSignal(exchange)!);
      response?.destroy(error);
      request.destroy(error);
    };
    signal?.addEventListener('abort', abort, { once: true });
    callerSignal?.addEventListener('abort', abort, { once: true });
    request.once('close', () => {
      signal?.removeEventListener('abort', abort);
      callerSignal?.removeEventListener('abort', abort);
    });
    // Before the response; afterwards the body stream fails instead.
    request.once('error', (error: NodeJS.ErrnoException) => {
      const aborted = abortedSignal(exchange);
      if (aborted) return reject(abortError(aborted));
      // As fetch does: a TypeError with the network error (and its code) as the cause.
      const failed = new TypeError('fetch failed', { cause: error });
      const stale = request.reusedSocket && STALE_CONNECTION_CODES.has(error.code ?? '');
      reject(stale ? new StaleConnectionError(failed) : failed);
    });
    request.once('response', (started) => {
      response = started;
      resolve(new NodeResponse(destination.href, started) as unknown as Response);
    });
    request.end(exchange.body);
  });
}

function bodyOf(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  throw new TypeError('Only string and byte request bodies are supported');
}

/** The part of a fetch Response the SDKs read, over the Node response as it streams. */
class NodeResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly redirected = false;
  readonly headers = new Headers();
  /** An async iterable of byte chunks, which is all the SDK asks of a body. */
  readonly body: IncomingMessage;

  constructor(
    readonly url: string,
    message: IncomingMessage,
  ) {
    const { rawHeaders } = message;
    for (let i = 0; i < rawHeaders.length; i += 2) this.headers.append(rawHeaders[i], rawHeaders[i + 1]);
    this.status = message.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
    this.statusText = message.statusMessage ?? '';
    this.body = message;
  }

  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }
}

function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) return signal.reason;
  const error = new Error('The operation was aborted');
  error.name = 'AbortError';
  return error;
}
