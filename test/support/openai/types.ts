import type { RecordedRequest as AnthropicRecordedRequest } from '../anthropic/types';

/** `openai`: the API at `/v1`; `openrouter`: the same API at `/api/v1`, with OpenRouter's additions. */
export type OpenAiServerMode = 'openai' | 'openrouter';

/**
 * Streams `tokens` as one chunk each (`choices[0].delta.content`), then a chunk with `finish_reason`,
 * then (when the request asked for `stream_options.include_usage`) the usage chunk with empty
 * `choices`, then `data: [DONE]`.
 */
export interface StreamBehaviour {
  kind: 'stream';
  /** Default: the echo reply of the request (`Echo: <last user message>` as word tokens). */
  tokens?: string[];
  delayMs?: number;
  /** Default: estimateInputTokens(body). */
  promptTokens?: number;
  /** Default: `tokens.length`. */
  completionTokens?: number;
  /** Default: `stop`. */
  finishReason?: 'stop' | 'length' | 'content_filter';
  /** After this many tokens nothing more is sent until the client closes the request. */
  stallAfter?: number;
  /**
   * Ends cleanly (the `finish_reason` chunk, then `data: [DONE]`) without the usage chunk, even
   * when the request asked for `stream_options.include_usage`.
   */
  omitUsage?: boolean;
}

/** An HTTP error status with the API's JSON error body (OpenAI's or OpenRouter's shape). */
export interface HttpErrorBehaviour {
  kind: 'http-error';
  status: number;
  message?: string;
  /** Sent as `retry-after` (seconds). */
  retryAfterSeconds?: number;
  headers?: Record<string, string>;
}

/**
 * OpenRouter's error during generation: the answer has started (200), `afterTokens` chunks are
 * sent, then a `data:` event whose JSON has a top-level `error` and `finish_reason: "error"`, and
 * the stream ends.
 */
export interface ErrorEventBehaviour {
  kind: 'error-event-mid-stream';
  afterTokens: number;
  tokens?: string[];
  delayMs?: number;
  code?: number | string;
  message?: string;
}

/**
 * Destroys the socket: before any response byte, or after `afterTokens` content chunks (a number
 * at or beyond the reply's length cuts after the `finish_reason` chunk, before the usage chunk).
 */
export interface DropConnectionBehaviour {
  kind: 'drop-connection';
  afterTokens: number | 'before-headers';
  tokens?: string[];
}

/** Reads the request and never answers. */
export interface HangBehaviour {
  kind: 'hang';
}

export type Behaviour =
  StreamBehaviour | HttpErrorBehaviour | ErrorEventBehaviour | DropConnectionBehaviour | HangBehaviour;

/** What the server recorded of one request (as the Anthropic server's record; `apiKey` is the bearer token). */
export type RecordedRequest = Omit<AnthropicRecordedRequest, 'behaviour'> & { behaviour: Behaviour | undefined };

export type BehaviourSource = Behaviour | ((request: RecordedRequest) => Behaviour | undefined);

export interface OpenAiServer {
  readonly mode: OpenAiServerMode;
  /** The API root to give the SDK: `http://127.0.0.1:<port>/v1` or `…/api/v1`. */
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  setBehaviour(source: BehaviourSource | undefined): void;
  enqueue(...behaviours: Behaviour[]): void;
  /** Replaces the default key check (`sk-` and not `sk-or-` for OpenAI; `sk-or-` for OpenRouter). */
  acceptKeys(predicate: (key: string) => boolean): void;
  /** That key gets 401, or 403 (OpenAI: a restricted key; OpenRouter: a disabled key). */
  rejectKey(key: string, status?: 401 | 403): void;
  reset(): void;
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}
