import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import type { Action } from '../../auth/policy';
import { callerOf, type GatewayContext } from '../../server/context';
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
    @Ctx() ctx: GatewayContext,
  ): Promise<UsageBucket[]> {
    return this.usageService.aggregate(callerOf(ctx), filter, groupBy ?? []);
  }
}
