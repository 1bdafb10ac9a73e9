import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EncryptionContext, KmsKeyStore, KmsProtocolError } from './kms/key-store';
import { kmsOperations, type KmsRequestBody, type KmsResponseBody } from './kms/operations';

export type { EncryptionContext } from './kms/key-store';

/**
 * Failures the server injects instead of answering:
 * - `throttle`: 400 ThrottlingException (the SDK retries it with throttling backoff)
 * - `internal-error`: 500 KMSInternalException (retried as a transient error)
 * - `down`: the socket is destroyed without a response (the SDK sees a network error)
 * - `hang`: the request is never answered (exercises client timeouts)
 */
export type KmsFailMode = 'none' | 'throttle' | 'internal-error' | 'down' | 'hang';

/** One request as the server received it. Plaintext is never recorded. */
export interface KmsCallRecord {
  operation: string;
  /** `KeyId` as sent (`DestinationKeyId` for ReEncrypt). */
  keyId?: string;
  /** `SourceKeyId` of a ReEncrypt. */
  sourceKeyId?: string;
  /** `EncryptionContext` as sent (`SourceEncryptionContext` for ReEncrypt). */
  encryptionContext?: EncryptionContext;
  /** `DestinationEncryptionContext` of a ReEncrypt. */
  destinationEncryptionContext?: EncryptionContext;
  /** The `__type` of the error answered, or `down` / `hang` for an injected network failure. */
  error?: string;
}

export interface KmsCalls {
  /** Requests received per operation, failed ones (and so SDK retries) included. */
  counts: Record<string, number>;
  log: KmsCallRecord[];
}

export interface KmsServer {
  /** `http://127.0.0.1:<port>`: pass as the KMSClient `endpoint` or AWS_ENDPOINT_URL_KMS. */
  readonly endpoint: string;
  readonly region: string;
  /** A snapshot of the requests received since start or the last `resetCalls()`. */
  readonly calls: KmsCalls;
  /** Setting it fails every request in that mode until it is set back to `none`. */
  failMode: KmsFailMode;
  /** Fails the next `count` requests in `mode`, then answers normally again. */
  setFailMode(mode: KmsFailMode, count?: number): void;
  /** Creates a symmetric encryption key and returns its ARN. */
  createKey(description?: string): string;
  createAlias(aliasName: string, keyId: string): void;
  disableKey(keyId: string): void;
  enableKey(keyId: string): void;
  resetCalls(): void;
  close(): Promise<void>;
}

export interface KmsServerOptions {
  /** Region written into key ARNs. Clients may sign for any region. */
  region?: string;
}

const JSON_1_1 = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'TrentService.';

export async function startKmsServer(options: KmsServerOptions = {}): Promise<KmsServer> {
  const server = new FakeKmsServer(options.region ?? 'us-east-1');
  await server.listen();
  return server;
}

class FakeKmsServer implements KmsServer {
  private readonly store: KmsKeyStore;
  private readonly httpServer: Server;
  private readonly unanswered = new Set<ServerResponse>();
  private callLog: KmsCallRecord[] = [];
  private currentFailMode: KmsFailMode = 'none';
  private failuresLeft = 0;
  private port = 0;

  constructor(readonly region: string) {
    this.store = new KmsKeyStore(region);
    this.httpServer = createServer((request, response) => {
      this.handle(request, response).catch(() => response.destroy());
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.httpServer.once('error', reject);
      this.httpServer.listen(0, '127.0.0.1', resolve);
    });
    this.port = (this.httpServer.address() as AddressInfo).port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get calls(): KmsCalls {
    const counts: Record<string, number> = {};
    for (const { operation } of this.callLog) counts[operation] = (counts[operation] ?? 0) + 1;
    return { counts, log: this.callLog.map((record) => ({ ...record })) };
  }

  get failMode(): KmsFailMode {
    return this.currentFailMode;
  }

  set failMode(mode: KmsFailMode) {
    this.setFailMode(mode);
  }

  setFailMode(mode: KmsFailMode, count = Number.POSITIVE_INFINITY): void {
    this.currentFailMode = mode;
    this.failuresLeft = mode === 'none' ? 0 : count;
  }

  createKey(description?: string): string {
    return this.store.createKey(description).arn;
  }

  createAlias(aliasName: string, keyId: string): void {
    this.store.createAlias(aliasName, keyId);
  }

  disableKey(keyId: string): void {
    this.store.resolve(keyId).enabled = false;
  }

  enableKey(keyId: string): void {
    this.store.resolve(keyId).enabled = true;
  }

  resetCalls(): void {
    this.callLog = [];
  }

  async close(): Promise<void> {
    for (const response of this.unanswered) response.destroy();
    this.unanswered.clear();
    const closed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    this.httpServer.closeAllConnections();
    await closed;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    let record: KmsCallRecord | undefined;
    try {
      const body = parseBody(await readBody(request));
      assertKmsRequest(request, operation);
      record = this.record(operation, body);
      const injected = this.nextInjectedFailure();
      if (injected) {
        record.error = this.injectFailure(injected, response);
        return;
      }
      sendJson(response, 200, dispatch(this.store, operation, body));
    } catch (error) {
      const kmsError =
        error instanceof KmsProtocolError ? error : new KmsProtocolError('KMSInternalException', 'Internal error', 500);
      if (record) record.error = kmsError.type;
      sendJson(response, kmsError.status, errorBody(kmsError));
    }
  }

  private record(operation: string, body: KmsRequestBody): KmsCallRecord {
    const isReEncrypt = operation === 'ReEncrypt';
    const record = withoutUndefined({
      operation,
      keyId: (isReEncrypt ? body.DestinationKeyId : body.KeyId) as string | undefined,
      sourceKeyId: (isReEncrypt ? body.SourceKeyId : undefined) as string | undefined,
      encryptionContext: (isReEncrypt ? body.SourceEncryptionContext : body.EncryptionContext) as
        EncryptionContext | undefined,
      destinationEncryptionContext: (isReEncrypt ? body.DestinationEncryptionContext : undefined) as
        EncryptionContext | undefined,
    });
    this.callLog.push(record);
    return record;
  }

  private nextInjectedFailure(): Exclude<KmsFailMode, 'none'> | undefined {
    if (this.currentFailMode === 'none' || this.failuresLeft <= 0) return undefined;
    const mode = this.currentFailMode;
    this.failuresLeft -= 1;
    if (this.failuresLeft <= 0) this.currentFailMode = 'none';
    return mode;
  }

  /** Answers (or does not answer) with the failure; returns what the call log records. */
  private injectFailure(mode: Exclude<KmsFailMode, 'none'>, response: ServerResponse): string {
    switch (mode) {
      case 'throttle':
        sendJson(response, 400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
        return 'ThrottlingException';
      case 'internal-error':
        sendJson(response, 500, { __type: 'KMSInternalException', message: 'Internal error' });
        return 'KMSInternalException';
      case 'down':
        response.socket?.destroy();
        return 'down';
      case 'hang':
        this.unanswered.add(response);
        response.once('close', () => this.unanswered.delete(response));
        return 'hang';
    }
  }
}

function dispatch(store: KmsKeyStore, operation: string, body: KmsRequestBody): KmsResponseBody {
  const handler = Object.hasOwn(kmsOperations, operation) ? kmsOperations[operation] : undefined;
  if (!handler) {
    throw new KmsProtocolError('UnknownOperationException', `Operation ${operation} is not supported.`);
  }
  return handler(store, body);
}

function assertKmsRequest(request: IncomingMessage, operation: string): void {
  if (!request.headers.authorization) {
    throw new KmsProtocolError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const contentType = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  if (request.method !== 'POST' || request.url !== '/' || contentType !== JSON_1_1 || !operation) {
    throw new KmsProtocolError(
      'UnknownOperationException',
      `Expected POST with ${JSON_1_1} and X-Amz-Target ${TARGET_PREFIX}<Operation>.`,
    );
  }
}

function parseBody(rawBody: string): KmsRequestBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody === '' ? '{}' : rawBody);
  } catch {
    throw new KmsProtocolError('SerializationException', 'Request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new KmsProtocolError('SerializationException', 'Request body must be a JSON object.');
  }
  return parsed as KmsRequestBody;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(response: ServerResponse, status: number, body: KmsResponseBody): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': JSON_1_1,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(payload);
}

/** Like KMS, an error without a message (InvalidCiphertextException) has no `message` member. */
function errorBody(error: KmsProtocolError): KmsResponseBody {
  return error.message ? { __type: error.type, message: error.message } : { __type: error.type };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
