import type { CatalogModel } from '../catalog/model-catalog';
import type { ProviderRequest } from '../providers/provider-stream';
import type { ResolvedKey } from '../modules/credential/key-selector';
import type { TurnWrite } from './chat-recorder';

/** The user's side of the exchange, written when the chat starts. */
export interface UserTurn {
  conversationId: string;
  /** The conversation is created with this turn. */
  isNew: boolean;
  agentId: string | null;
  message: string;
}

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
  /** Platform-key spend reservation (PlatformSpendGuard), released with the budget's; null without a cap. */
  platformReservationId: string | null;
  turn: UserTurn;
  /** Most model calls of this chat's tool loop (the tenant's maxSteps). */
  maxSteps: number;
}

/** A chat whose upstream call is under way. */
export interface StartedChat extends ChatPlan {
  /** The user's turn and the credential.use audit event, on their way to the database (ChatRecorder.deferStart). */
  turnWrite: TurnWrite;
  /** Its stream lease when it lives in the database: released in the statement that records the chat's end. */
  leaseId: string | null;
}
