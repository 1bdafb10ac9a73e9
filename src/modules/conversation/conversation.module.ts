import type { GatewayModule } from '../../common/gateway-module';
import { ConversationEntity } from './conversation.entity';
import { ConversationResolver } from './conversation.resolver';
import type { ConversationService } from './conversation.service';
import { MessageEntity } from './message.entity';

export const conversationModule: GatewayModule<{ conversations: ConversationService }> = {
  name: 'conversation',
  entities: [ConversationEntity, MessageEntity],
  resolvers: [ConversationResolver],
  createResolvers: ({ conversations }) => [new ConversationResolver(conversations)],
};
