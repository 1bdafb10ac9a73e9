import type { GatewayModule } from '../../common/gateway-module';
import { ModelResolver } from './model.resolver';
import type { ModelService } from './model.service';

export const modelModule: GatewayModule<{ models: ModelService }> = {
  name: 'model',
  entities: [],
  resolvers: [ModelResolver],
  createResolvers: ({ models }) => [new ModelResolver(models)],
};
