import { Arg, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Action } from '../../auth/policy';
import { callerOf, type GatewayContext } from '../../server/context';
import { TenantEntity } from '../tenant/tenant.entity';
import { Tenant } from '../tenant/tenant.type';
import { CreateUserInput } from './user.input';
import type { UserService } from './user.service';
import { User } from './user.type';

@Resolver(() => User)
export class UserResolver {
  constructor(private readonly userService: UserService) {}

  @Authorized<Action>('user.self')
  @Query(() => User)
  async me(@Ctx() ctx: GatewayContext): Promise<User> {
    return User.from(await this.userService.me(callerOf(ctx)));
  }

  @Authorized<Action>('user.list')
  @Query(() => [User])
  async users(@Ctx() ctx: GatewayContext): Promise<User[]> {
    return (await this.userService.list(callerOf(ctx))).map(User.from);
  }

  @Authorized<Action>('user.create')
  @Mutation(() => User)
  async createUser(@Arg('input') input: CreateUserInput, @Ctx() ctx: GatewayContext): Promise<User> {
    return User.from(await this.userService.create(callerOf(ctx), input));
  }

  @Authorized<Action>('user.self')
  @Mutation(() => User)
  async setPreferredModel(
    @Arg('model', () => String, { nullable: true }) model: string | null,
    @Ctx() ctx: GatewayContext,
  ): Promise<User> {
    return User.from(await this.userService.setPreferredModel(callerOf(ctx), model ?? null));
  }

  @FieldResolver(() => Tenant)
  async tenant(@Root() user: User, @Ctx() ctx: GatewayContext): Promise<Tenant> {
    return Tenant.from(await ctx.em.findOneOrFail(TenantEntity, { id: user.tenantId }));
  }
}
