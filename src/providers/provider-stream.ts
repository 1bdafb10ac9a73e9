import { isRetryable, type ChatFailedCode } from '../common/codes';

/** Receives a provider stream's events as they arrive; must not throw. */
export type ProviderEventSink = (event: ProviderEvent) => void;

/** What a provider stream yields, whatever the provider. */
export type ProviderEvent =
  /**
   * The provider's answer has started (HTTP 200). `inputTokens` is its count of the input when
   * it reports one at the start (Anthropic's message_start), null when it does not (OpenAI).
   */
  | { type: 'start'; inputTokens: number | null }
  | { type: 'delta'; text: string }
  | { type: 'done'; stopReason: string | null; inputTokens: number; outputTokens: number }
  /** A complete tool call (its input fully streamed), emitted before `done`. */
  | { type: 'tool_call'; call: ProviderToolCall };

/** A tool the model may call, in the provider-neutral form (name, description, JSON Schema of the input). */
export interface ProviderTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface ProviderToolCall {
  id: string;
  name: string;
  /** The parsed arguments (an object); the raw text when the model wrote invalid JSON. */
  input: unknown;
}

export interface ProviderToolResult {
  toolCallId: string;
  output: string;
  isError: boolean;
}

/**
 * One turn of the conversation. An assistant turn may end with tool calls; the `tool` turn after
 * it carries their results (Anthropic: a user turn of tool_result blocks; OpenAI: `role: tool` messages).
 */
export type ProviderTurn =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ProviderToolCall[] }
  | { role: 'tool'; results: ProviderToolResult[] };

export interface ProviderRequest {
  model: string;
  system?: string;
  messages: ProviderTurn[];
  maxTokens: number;
  /** Tools the model may call; absent or empty: none. */
  tools?: ProviderTool[];
}

/** The key a request goes out with, and the identity of the SDK client that holds it. */
export interface ProviderKey {
  /** `<credentialId>:<dataKeyVersion>` or `platform`: a rotated or deleted key never matches again. */
  identity: string;
  apiKey: string;
}

/**
 * A provider's streaming chat: one call, its events handed to `emit` as they arrive; resolves when
 * the stream ends or `signal` aborts it (the upstream socket then closes at once), and throws an
 * UpstreamFailure otherwise. With `sendAfter`, the request is built at once but sent only once
 * `sendAfter` resolves (node-http-fetch's `abortingOn`); aborted before then, nothing is sent.
 */
export interface ChatProvider {
  stream(
    key: ProviderKey,
    request: ProviderRequest,
    signal: AbortSignal,
    emit: ProviderEventSink,
    sendAfter?: Promise<void>,
  ): Promise<void>;
}

/** What is known of a failure beyond its code: for retries and the log, never shown to clients. */
export interface UpstreamFailureDetails {
  /** The provider's HTTP status, when it answered. */
  status?: number;
  /** How long the provider asked us to wait before retrying. */
  retryAfterMs?: number;
  /** The network error's code (ECONNRESET, ENOTFOUND…), never its message. */
  networkCode?: string;
}

/** A classified upstream failure: a specific code, whether a retry may help (the code's), and when. */
export class UpstreamFailure extends Error {
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly networkCode?: string;

  constructor(
    readonly code: ChatFailedCode,
    message: string,
    { status, retryAfterMs, networkCode }: UpstreamFailureDetails = {},
  ) {
    super(message);
    this.name = 'UpstreamFailure';
    this.retryable = isRetryable(code);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
    this.networkCode = networkCode;
  }
}
