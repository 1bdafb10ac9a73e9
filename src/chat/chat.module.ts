import { ChatClientRequestEntity } from './client-request.entity';
import type { GatewayModule } from '../common/gateway-module';
import { ChatResolver } from './chat.resolver';

/** The chat subscription; its resolver holds nothing, the stream starts from the context (see ChatResolver). */
export const chatModule: GatewayModule = {
  name: 'chat',
  entities: [ChatClientRequestEntity],
  resolvers: [ChatResolver],
  createResolvers: () => [new ChatResolver()],
};
