import type { IncomingHttpHeaders } from 'node:http';

export type StopReason =
  'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal' | 'model_context_window_exceeded';

/** Error `type` values the real API puts in `{"type":"error","error":{"type":...}}`. */
export type ApiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error'
  | 'timeout_error';

/** Streams `tokens` as one `text_delta` each (a non-streaming request gets them joined into one Message). */
export interface StreamBehaviour {
  kind: 'stream';
  /** Default: the echo reply of the request (see `defaultReplyTokens`). */
  tokens?: string[];
  /** Pause before each token; for a non-streaming request the response waits `delayMs * tokens.length`. */
  delayMs?: number;
  /** Default: `estimateInputTokens(body)`. */
  inputTokens?: number;
  /** Default: `tokens.length`. */
  outputTokens?: number;
  /** Default: `end_turn`. */
  stopReason?: StopReason;
  /**
   * After this many tokens the stream sends nothing more and waits for the client to close it, so
   * a closed upstream request proves the client aborted it (the stream would never end by itself).
   */
  stallAfter?: number;
}

/** Answers with an HTTP error status and the API's JSON error body, whatever the request asked for. */
export interface HttpErrorBehaviour {
  kind: 'http-error';
  status: number;
  /** Default: the type the real API uses for `status` (429 → rate_limit_error, 529 → overloaded_error, ...). */
  errorType?: ApiErrorType | (string & {});
  message?: string;
  /** Sent as `retry-after` (seconds); the SDK sleeps that long before retrying. */
  retryAfterSeconds?: number;
  /** Sent as `retry-after-ms`, which the SDK prefers over `retry-after`. */
  retryAfterMs?: number;
  /** Sent as `x-should-retry: true|false`, which overrides the SDK's status-based retry decision. */
  shouldRetry?: boolean;
  /** `error.details` (e.g. `{ error_code: '...' }`, which the SDK maps to specific error classes). */
  details?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/**
 * Streams `afterTokens` deltas, then `event: error` and ends the response, as the real API does when it
 * gets overloaded mid-generation. On a non-streaming request it becomes the matching HTTP error.
 */
export interface ErrorEventBehaviour {
  kind: 'error-event-mid-stream';
  afterTokens: number;
  tokens?: string[];
  delayMs?: number;
  /** Default: `overloaded_error`. */
  errorType?: ApiErrorType | (string & {});
  message?: string;
}

/**
 * Destroys the socket. `afterTokens: 'before-headers'` drops it before any response byte (the SDK sees a
 * fetch failure, retries it, and finally throws APIConnectionError); a number drops it mid-body after that
 * many deltas (not retried; the stream fails with `terminated`). Non-streaming requests are always dropped
 * before headers.
 */
export interface DropConnectionBehaviour {
  kind: 'drop-connection';
  afterTokens: number | 'before-headers';
  tokens?: string[];
  delayMs?: number;
}

/** Reads the request and never answers; the record closes when the client gives up. */
export interface HangBehaviour {
  kind: 'hang';
}

export type Behaviour =
  StreamBehaviour | HttpErrorBehaviour | ErrorEventBehaviour | DropConnectionBehaviour | HangBehaviour;

export type JsonObject = Record<string, unknown>;

export interface RecordedRequest {
  /** Position in `server.requests`, from 0 (reset by `reset()`). */
  seq: number;
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  /**
   * The key the client presented: the `x-api-key` header, or else the token of `Authorization: Bearer`
   * (@anthropic-ai/sdk 1.x sends `apiKey` as a bearer token, not as `x-api-key`).
   */
  apiKey: string | undefined;
  /** Which header `apiKey` came from. */
  apiKeySource: 'x-api-key' | 'authorization' | undefined;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; undefined when there was none or it was not a JSON object. */
  body: JsonObject | undefined;
  rawBody: string;
  /** The `request-id` header the server answered with (the SDK exposes it as `err.requestID`). */
  requestId: string;
  /** TCP port of the client side; equal ports on sequential requests mean the connection was reused. */
  remotePort: number | undefined;
  /** True when an earlier request came over the same connection (a pooled keep-alive connection). */
  reusedConnection: boolean;
  /** `performance.now()` in this process when the request headers arrived. */
  receivedAt: number;
  /** `performance.now()` when the response closed: after it finished, or when the client/socket went away. */
  socketClosedAt: number | undefined;
  /** True once the server wrote its whole response and it was flushed (`finish`), false if the socket closed first. */
  completed: boolean;
  /** HTTP status sent, undefined if the socket was dropped before headers. */
  status: number | undefined;
  /** The behaviour that answered the request; undefined for auth/validation/routing answers. */
  behaviour: Behaviour | undefined;
  /** Number of `text_delta` events written. */
  tokensSent: number;
}

export type BehaviourSource = Behaviour | ((request: RecordedRequest) => Behaviour | undefined);

export type KeyPredicate = (key: string) => boolean;

export interface AnthropicServerOptions {
  /** Models listed by `GET /v1/models`. Default: a few current model ids. */
  models?: string[];
  /** Answer 400 when the `anthropic-version` header is missing, as the real API does. Default true. */
  requireAnthropicVersion?: boolean;
}

export interface AnthropicServer {
  /** `http://127.0.0.1:<port>`, no trailing slash: pass as the SDK's `baseURL`. */
  readonly baseURL: string;
  /** Every request since start or the last `reset()`, added once its body has been read. */
  readonly requests: RecordedRequest[];
  /** Answers every later /v1/messages request (not consumed) unless a queued behaviour is pending. */
  setBehaviour(source: BehaviourSource | undefined): void;
  /** One behaviour per next /v1/messages request, in arrival order, before `setBehaviour`/default. */
  enqueue(...behaviours: Behaviour[]): void;
  /** Replaces the default `key.startsWith('sk-ant-')` check (401 when it returns false). */
  acceptKeys(predicate: KeyPredicate): void;
  /** Makes `key` fail with 401 authentication_error or 403 permission_error, whatever `acceptKeys` says. */
  rejectKey(key: string, status?: 401 | 403): void;
  /** Clears requests, the queue, the behaviour, and key rules. */
  reset(): void;
  /** Resolves once `count` requests have been recorded. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Destroys open connections (SSE streams and hanging requests included) and stops listening. */
  close(): Promise<void>;
}
