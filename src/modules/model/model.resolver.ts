import { Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { Action } from '../../auth/policy';
import { callerOf, type GatewayContext } from '../../server/context';
import type { Provider } from '../credential/provider';
import type { ModelService } from './model.service';
import { Model } from './model.type';

@Resolver(() => Model)
export class ModelResolver {
  constructor(private readonly modelService: ModelService) {}

  @Authorized<Action>('model.list')
  @Query(() => [Model])
  async models(@Ctx() ctx: GatewayContext): Promise<Model[]> {
    const available = await this.modelService.list(callerOf(ctx));
    return available.map(({ model, keySources }) =>
      Object.assign(new Model(), { ...model, provider: model.provider as Provider, keySources }),
    );
  }
}
