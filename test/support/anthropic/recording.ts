import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { presentedKey } from './request';
import type { RecordedRequest } from './types';
import { makeId } from './wire';

const closeWaiters = new WeakMap<RecordedRequest, Promise<number>>();
const socketsSeen = new WeakSet<object>();

/** Starts the record of a request and keeps its `socketClosedAt`, `completed` and `status` up to date. */
export function startRecord(req: IncomingMessage, res: ServerResponse, seq: number): RecordedRequest {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const { key, source } = presentedKey(req.headers);
  const record: RecordedRequest = {
    seq,
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    apiKey: key,
    apiKeySource: source,
    headers: req.headers,
    body: undefined,
    rawBody: '',
    requestId: makeId('req'),
    remotePort: req.socket.remotePort,
    reusedConnection: socketsSeen.has(req.socket),
    receivedAt: performance.now(),
    socketClosedAt: undefined,
    completed: false,
    status: undefined,
    behaviour: undefined,
    tokensSent: 0,
  };
  socketsSeen.add(req.socket);
  res.on('finish', () => {
    record.completed = true;
  });
  closeWaiters.set(
    record,
    new Promise<number>((resolve) => {
      res.once('close', () => {
        record.socketClosedAt = performance.now();
        if (res.headersSent) record.status = res.statusCode;
        resolve(record.socketClosedAt);
      });
    }),
  );
  return record;
}

/**
 * Resolves with `record.socketClosedAt` once the response has closed (finished, aborted by the client, or
 * dropped by the server); rejects after `timeoutMs`.
 */
export function waitForClose(record: RecordedRequest, timeoutMs = 2000): Promise<number> {
  const closed = closeWaiters.get(record);
  if (!closed) return Promise.reject(new Error(`request #${record.seq} was not recorded by an Anthropic test server`));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`request #${record.seq} ${record.method} ${record.path} still open after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([closed, timeout]).finally(() => clearTimeout(timer));
}

/** The whole request body as text. */
export async function readBody(req: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Resolves with the first `count` recorded requests once there are that many; rejects after
 * `timeoutMs`. `waiters` is the server's set of checks, run after each request is recorded.
 */
export function waitForRecorded<T>(
  requests: readonly T[],
  waiters: Set<() => void>,
  count: number,
  timeoutMs: number,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (requests.length < count) return;
      cleanup();
      resolve(requests.slice(0, count));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`expected ${count} requests, got ${requests.length} after ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
}
