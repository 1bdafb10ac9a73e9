import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, startRecord, waitForRecorded } from './anthropic/recording';
import { parseJsonObject } from './anthropic/request';
import type { RecordedRequest as AnthropicRecordedRequest } from './anthropic/types';

/** One request being answered: its response, its record, and a signal aborted once the client has gone. */
export interface ScriptedExchange<R> {
  res: ServerResponse;
  record: R;
  closed: AbortSignal;
}

/** A server's record of a request (startRecord's), with the behaviour it was answered with. */
type RecordOf<B> = Omit<AnthropicRecordedRequest, 'behaviour'> & { behaviour: B | undefined };

/**
 * What the local provider servers (Anthropic, OpenAI and OpenRouter) have in common: a keep-alive
 * HTTP server on a free port of 127.0.0.1 that records every request (its body read, then handed to
 * whoever waits in `waitForRequests`) and answers each with the next queued behaviour, else the one
 * set, else the default; keys are checked against a predicate and a list of rejected keys; `close`
 * ends open streams too. A subclass routes and answers (`serve`).
 */
export abstract class ScriptedUpstreamServer<B, R extends RecordOf<B>> {
  readonly requests: R[] = [];
  protected keyPredicate: (key: string) => boolean;
  protected readonly rejectedKeys = new Map<string, 401 | 403>();
  private readonly httpServer: Server;
  private readonly queue: B[] = [];
  private behaviourSource: B | ((request: R) => B | undefined) | undefined;
  private readonly requestWaiters = new Set<() => void>();
  private seq = 0;
  private port = 0;

  protected constructor(
    private readonly defaultBehaviour: B,
    private readonly defaultKeyPredicate: (key: string) => boolean,
    /** The API's root path after the port (`/v1`), or '' when the SDK adds it. */
    protected readonly rootPath = '',
  ) {
    this.keyPredicate = defaultKeyPredicate;
    this.httpServer = createServer({ keepAlive: true }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
        else res.destroy();
      });
    });
  }

  get baseURL(): string {
    return `http://127.0.0.1:${this.port}${this.rootPath}`;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.httpServer.once('error', reject);
      this.httpServer.listen(0, '127.0.0.1', () => {
        this.port = (this.httpServer.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  setBehaviour(source: B | ((request: R) => B | undefined) | undefined): void {
    this.behaviourSource = source;
  }

  enqueue(...behaviours: B[]): void {
    this.queue.push(...behaviours);
  }

  acceptKeys(predicate: (key: string) => boolean): void {
    this.keyPredicate = predicate;
  }

  rejectKey(key: string, status: 401 | 403 = 401): void {
    this.rejectedKeys.set(key, status);
  }

  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
    this.behaviourSource = undefined;
    this.keyPredicate = this.defaultKeyPredicate;
    this.rejectedKeys.clear();
    this.seq = 0;
  }

  waitForRequests(count: number, timeoutMs = 2000): Promise<R[]> {
    return waitForRecorded(this.requests, this.requestWaiters, count, timeoutMs);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    // Open SSE streams and hanging requests would otherwise keep close() waiting forever.
    this.httpServer.closeAllConnections();
    await closed;
  }

  /** Routes the recorded request and answers it. */
  protected abstract serve(exchange: ScriptedExchange<R>): Promise<void> | void;

  /** The behaviour for this request: the next queued one, else the one set, else the default. */
  protected nextBehaviour(record: R): B {
    const queued = this.queue.shift();
    if (queued) return queued;
    const source = this.behaviourSource;
    return (
      (typeof source === 'function' ? (source as (request: R) => B | undefined)(record) : source) ??
      this.defaultBehaviour
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record = startRecord(req, res, this.seq++) as unknown as R;
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    record.rawBody = await readBody(req);
    record.body = parseJsonObject(record.rawBody);
    this.requests.push(record);
    for (const waiter of [...this.requestWaiters]) waiter();
    await this.serve({ res, record, closed: closed.signal });
  }
}
