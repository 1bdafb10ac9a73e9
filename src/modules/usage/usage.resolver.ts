import { Arg, Authorized, Query, Resolver } from 'type-graphql';
import type { Caller } from '../../auth/caller';
import { CurrentCaller } from '../../auth/current-caller';
import type { Action } from '../../auth/policy';
import type { UsageService } from './usage.service';
import { UsageBucket, UsageDimension, UsageFilter } from './usage.types';

@Resolver()
export class UsageResolver {
  constructor(private readonly usageService: UsageService) {}

  @Authorized<Action>('usage.read')
  @Query(() => [UsageBucket])
  async usage(
    @Arg('filter', () => UsageFilter, { nullable: true }) filter: UsageFilter | null,
    @Arg('groupBy', () => [UsageDimension], { nullable: true }) groupBy: UsageDimension[] | null,
    @CurrentCaller() caller: Caller,
  ): Promise<UsageBucket[]> {
    return this.usageService.aggregate(caller, filter, groupBy ?? []);
  }
}
