import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, startRecord, waitForRecorded } from './recording';
import { messagesBodyProblem, parseJsonObject } from './request';
import { respond, sendError, sendJson, type Exchange, type MessagesExchange } from './responders';
import type {
  AnthropicServer,
  AnthropicServerOptions,
  Behaviour,
  BehaviourSource,
  KeyPredicate,
  RecordedRequest,
} from './types';
import { DEFAULT_MODELS, modelInfo, modelsPage } from './wire';

const DEFAULT_BEHAVIOUR: Behaviour = { kind: 'stream' };
const acceptAnthropicKeys: KeyPredicate = (key) => key.startsWith('sk-ant-');

export async function startAnthropicServer(options: AnthropicServerOptions = {}): Promise<AnthropicServer> {
  const server = new FakeAnthropicServer(options);
  await server.listen();
  return server;
}

class FakeAnthropicServer implements AnthropicServer {
  readonly requests: RecordedRequest[] = [];
  private readonly httpServer: Server;
  private readonly models: string[];
  private readonly requireAnthropicVersion: boolean;
  private readonly queue: Behaviour[] = [];
  private behaviourSource: BehaviourSource | undefined;
  private keyPredicate: KeyPredicate = acceptAnthropicKeys;
  private readonly rejectedKeys = new Map<string, 401 | 403>();
  private readonly requestWaiters = new Set<() => void>();
  private seq = 0;
  private port = 0;

  constructor(options: AnthropicServerOptions) {
    this.models = options.models ?? DEFAULT_MODELS;
    this.requireAnthropicVersion = options.requireAnthropicVersion ?? true;
    this.httpServer = createServer({ keepAlive: true }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
        else res.destroy();
      });
    });
  }

  get baseURL(): string {
    return `http://127.0.0.1:${this.port}`;
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

  setBehaviour(source: BehaviourSource | undefined): void {
    this.behaviourSource = source;
  }

  enqueue(...behaviours: Behaviour[]): void {
    this.queue.push(...behaviours);
  }

  acceptKeys(predicate: KeyPredicate): void {
    this.keyPredicate = predicate;
  }

  rejectKey(key: string, status: 401 | 403 = 401): void {
    this.rejectedKeys.set(key, status);
  }

  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
    this.behaviourSource = undefined;
    this.keyPredicate = acceptAnthropicKeys;
    this.rejectedKeys.clear();
    this.seq = 0;
  }

  waitForRequests(count: number, timeoutMs = 2000): Promise<RecordedRequest[]> {
    return waitForRecorded(this.requests, this.requestWaiters, count, timeoutMs);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    // Open SSE streams and hanging requests would otherwise keep close() waiting forever.
    this.httpServer.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record = startRecord(req, res, this.seq++);
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    record.rawBody = await readBody(req);
    record.body = parseJsonObject(record.rawBody);
    this.requests.push(record);
    for (const waiter of [...this.requestWaiters]) waiter();

    const ex: Exchange = { res, record, closed: closed.signal };
    const route = this.route(record);
    if (route === 'unknown') return sendError(ex, 404, 'not_found_error', 'Not found');
    if (!this.authorize(ex)) return;
    if (this.requireAnthropicVersion && !req.headers['anthropic-version']) {
      return sendError(ex, 400, 'invalid_request_error', 'anthropic-version: header is required');
    }
    if (route === 'models') return sendJson(ex, 200, modelsPage(this.models, record.query));
    if (route === 'model') return this.retrieveModel(ex);
    return this.createMessage(ex);
  }

  private route(record: RecordedRequest): 'messages' | 'models' | 'model' | 'unknown' {
    if (record.method === 'POST' && record.path === '/v1/messages') return 'messages';
    if (record.method === 'GET' && record.path === '/v1/models') return 'models';
    if (record.method === 'GET' && /^\/v1\/models\/[^/]+$/.test(record.path)) return 'model';
    return 'unknown';
  }

  /** Answers 401/403 and returns false unless the presented key is accepted. */
  private authorize(ex: Exchange): boolean {
    const key = ex.record.apiKey;
    if (key === undefined) {
      sendError(ex, 401, 'authentication_error', 'x-api-key header is required');
      return false;
    }
    const rejectedWith = this.rejectedKeys.get(key);
    if (rejectedWith === 403) {
      sendError(ex, 403, 'permission_error', 'Your API key does not have permission to use the specified resource.');
      return false;
    }
    if (rejectedWith === 401 || !this.keyPredicate(key)) {
      sendError(ex, 401, 'authentication_error', 'invalid x-api-key');
      return false;
    }
    return true;
  }

  private retrieveModel(ex: Exchange): void {
    const id = decodeURIComponent(ex.record.path.slice('/v1/models/'.length));
    const index = this.models.indexOf(id);
    if (index === -1) return sendError(ex, 404, 'not_found_error', `model: ${id}`);
    sendJson(ex, 200, modelInfo(id, index));
  }

  private async createMessage(ex: Exchange): Promise<void> {
    const problem = messagesBodyProblem(ex.record.rawBody, ex.record.body);
    if (problem) return sendError(ex, 400, 'invalid_request_error', problem);
    const messages = { ...ex, body: ex.record.body } as MessagesExchange;
    await respond(messages, this.nextBehaviour(ex.record));
  }

  private nextBehaviour(record: RecordedRequest): Behaviour {
    const queued = this.queue.shift();
    if (queued) return queued;
    const source = this.behaviourSource;
    return (typeof source === 'function' ? source(record) : source) ?? DEFAULT_BEHAVIOUR;
  }
}
