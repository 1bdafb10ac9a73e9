import { isRetryable, type ChatFailedCode } from '../common/codes';

/** Receives a provider stream's events as they arrive; must not throw. */
export type ProviderEventSink = (event: ProviderEvent) => void;

/** What a provider stream yields, whatever the provider. */
export type ProviderEvent =
  | { type: 'start'; inputTokens: number }
  | { type: 'delta'; text: string }
  | { type: 'done'; stopReason: string | null; inputTokens: number; outputTokens: number };

export interface ProviderTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface ProviderRequest {
  model: string;
  system?: string;
  messages: ProviderTurn[];
  maxTokens: number;
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
