import type { ChatProvider, ProviderEventSink, ProviderKey, ProviderRequest } from '../providers/provider-stream';

/**
 * A chat's first provider call, started while its admission (stream caps, client request id) is
 * still being decided in the database: the SDK builds the request meanwhile (URL, headers, the
 * body's JSON), and node-http-fetch holds it until `release`, so the first token no longer waits
 * for that work after the admission answers. Nothing reaches the provider before `release`; after
 * `discard` (a refused chat) nothing ever does, and the call ends quietly as an aborted one.
 * Exactly one of the two must be called.
 */
export class HeldUpstreamCall {
  private readonly controller = new AbortController();
  private sink: ProviderEventSink | null = null;
  private open!: () => void;
  private readonly call: Promise<void>;

  constructor(provider: ChatProvider, key: ProviderKey, request: ProviderRequest) {
    const sendAfter = new Promise<void>((resolve) => (this.open = resolve));
    const emit: ProviderEventSink = (event) => this.sink?.(event);
    let call: Promise<void>;
    try {
      call = provider.stream(key, request, this.controller.signal, emit, sendAfter);
    } catch (error) {
      call = Promise.reject(error);
    }
    // Until released, nobody awaits the call: a discarded one must not reject unhandled.
    call.catch(() => undefined);
    this.call = call;
  }

  /** Sends the request: its events go to `emit`, and `signal` aborts it. Settles as ChatProvider.stream does. */
  release(signal: AbortSignal, emit: ProviderEventSink): Promise<void> {
    this.sink = emit;
    if (signal.aborted) this.controller.abort(signal.reason);
    else signal.addEventListener('abort', () => this.controller.abort(signal.reason), { once: true });
    this.open();
    return this.call;
  }

  /** The chat will not run: the held request is dropped unsent. */
  discard(): void {
    this.controller.abort();
    this.open();
  }
}
