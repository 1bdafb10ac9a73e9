import type { GatewayModule } from '../../common/gateway-module';
import { ApiTokenEntity } from './api-token.entity';
import { ApiTokenResolver } from './api-token.resolver';
import type { ApiTokenService } from './api-token.service';

export const apiTokenModule: GatewayModule<{ tokens: ApiTokenService }> = {
  name: 'token',
  entities: [ApiTokenEntity],
  resolvers: [ApiTokenResolver],
  createResolvers: ({ tokens }) => [new ApiTokenResolver(tokens)],
};
