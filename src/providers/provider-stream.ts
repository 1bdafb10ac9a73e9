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

/** A classified upstream failure: a specific code, whether a retry may help, and when. */
export class UpstreamFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
    /** For the log only: the network error's code (ECONNRESET, ENOTFOUND…), never a message. */
    readonly networkCode?: string,
  ) {
    super(message);
    this.name = 'UpstreamFailure';
  }
}
