import type { AnthropicClients } from './anthropic-clients';
import { streamAnthropic } from './anthropic-stream';
import type { ChatProvider, ProviderEventSink, ProviderKey, ProviderRequest } from '../provider-stream';

/** Anthropic's Messages API as a ChatProvider: a cached client per key, then one streamed call. */
export class AnthropicChat implements ChatProvider {
  constructor(private readonly clients: AnthropicClients) {}

  stream(
    key: ProviderKey,
    request: ProviderRequest,
    signal: AbortSignal,
    emit: ProviderEventSink,
    sendAfter?: Promise<void>,
  ): Promise<void> {
    return streamAnthropic(this.clients.get(key.identity, key.apiKey), request, signal, emit, sendAfter);
  }
}
