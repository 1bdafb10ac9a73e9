import type { CatalogModel } from './model-catalog';
import type { ProviderRequest } from '../providers/provider-stream';
import type { ResolvedKey } from '../vault/key-resolver';

/** Everything decided before the stream starts; errors while deciding are GraphQL errors. */
export interface ChatPlan {
  requestId: string;
  tenantId: string;
  userId: string;
  conversationId: string;
  model: CatalogModel;
  key: ResolvedKey;
  request: ProviderRequest;
  /** Budget reservation to release when the usage is recorded; null without a budget. */
  reservationId: string | null;
  /**
   * The conversation and the user's message being written while the upstream call runs; the
   * reply is recorded after it. Rejects if they could not be written.
   */
  turnSaved: Promise<void>;
}
