import type { Provider } from '../modules/credential/provider';
import type { ChatProvider } from '../providers/provider-stream';

/**
 * Which providers can stream a chat, and how: the planner refuses a model whose provider is not
 * here, and the runner streams through the catalog provider's entry.
 */
export class ChatProviders {
  private readonly byProvider: ReadonlyMap<Provider, ChatProvider>;

  constructor(providers: Partial<Record<Provider, ChatProvider>>) {
    this.byProvider = new Map(Object.entries(providers) as Array<[Provider, ChatProvider]>);
  }

  has(provider: Provider): boolean {
    return this.byProvider.has(provider);
  }

  get(provider: Provider): ChatProvider {
    const chat = this.byProvider.get(provider);
    if (!chat) throw new Error(`No streaming chat for ${provider}`);
    return chat;
  }
}
