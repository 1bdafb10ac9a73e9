import { Authorized, Query, Resolver } from 'type-graphql';
import type { Caller } from '../../auth/caller';
import { CurrentCaller } from '../../auth/current-caller';
import type { Action } from '../../auth/policy';
import type { Provider } from '../credential/provider';
import type { ModelService } from './model.service';
import { Model } from './model.type';

@Resolver(() => Model)
export class ModelResolver {
  constructor(private readonly modelService: ModelService) {}

  @Authorized<Action>('model.list')
  @Query(() => [Model])
  async models(@CurrentCaller() caller: Caller): Promise<Model[]> {
    const available = await this.modelService.list(caller);
    return available.map(({ model, keySources, endOfLife, retired }) =>
      Object.assign(new Model(), {
        ...model,
        provider: model.provider as Provider,
        keySources,
        deprecated: endOfLife !== null,
        endOfLife,
        retired,
      }),
    );
  }
}
