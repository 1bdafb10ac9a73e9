import type { ChatProvider, ProviderEventSink, ProviderKey, ProviderRequest } from '../provider-stream';
import type { OpenAiClients } from './openai-clients';
import { streamOpenAi, type OpenAiStreamOptions } from './openai-stream';

/** An OpenAI-compatible Chat Completions API (OpenAI, OpenRouter) as a ChatProvider. */
export class OpenAiChat implements ChatProvider {
  constructor(
    private readonly clients: OpenAiClients,
    private readonly options: OpenAiStreamOptions,
  ) {}

  async stream(
    key: ProviderKey,
    request: ProviderRequest,
    signal: AbortSignal,
    emit: ProviderEventSink,
    sendAfter?: Promise<void>,
  ): Promise<void> {
    const client = await this.clients.get(key.identity, key.apiKey);
    return streamOpenAi(client, request, signal, emit, this.options, sendAfter);
  }
}

/** Where each API lives unless configured: the SDK's own default for OpenAI, OpenRouter's documented root. */
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_OPENROUTER_BASE_URL = 'https://openrouter.ai/api/v1';

/**
 * OpenRouter's optional attribution headers (its API reference, "Headers"): `X-Title` names the
 * app, `HTTP-Referer` is the app's URL (sent only when the operator configured one, since
 * Keyward has no URL of its own to claim).
 */
export const openRouterHeaders = (appUrl?: string): Record<string, string> => ({
  'X-Title': 'Keyward',
  ...(appUrl ? { 'HTTP-Referer': appUrl } : {}),
});
