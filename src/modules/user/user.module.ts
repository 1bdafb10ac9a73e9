import type { GatewayModule } from '../../common/gateway-module';
import { UserEntity } from './user.entity';
import { UserResolver } from './user.resolver';
import type { UserService } from './user.service';

export const userModule: GatewayModule<{ users: UserService }> = {
  name: 'user',
  entities: [UserEntity],
  resolvers: [UserResolver],
  createResolvers: ({ users }) => [new UserResolver(users)],
};
