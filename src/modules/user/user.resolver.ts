import { Arg, Authorized, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Caller } from '../../auth/caller';
import { CurrentCaller, RequestEm } from '../../auth/current-caller';
import type { Action } from '../../auth/policy';
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
  async me(@CurrentCaller() caller: Caller): Promise<User> {
    return User.from(await this.userService.me(caller));
  }

  @Authorized<Action>('user.list')
  @Query(() => [User])
  async users(@CurrentCaller() caller: Caller): Promise<User[]> {
    return (await this.userService.list(caller)).map(User.from);
  }

  @Authorized<Action>('user.create')
  @Mutation(() => User)
  async createUser(@Arg('input') input: CreateUserInput, @CurrentCaller() caller: Caller): Promise<User> {
    return User.from(await this.userService.create(caller, input));
  }

  @Authorized<Action>('user.self')
  @Mutation(() => User)
  async setPreferredModel(
    @Arg('model', () => String, { nullable: true }) model: string | null,
    @CurrentCaller() caller: Caller,
  ): Promise<User> {
    return User.from(await this.userService.setPreferredModel(caller, model ?? null));
  }

  @FieldResolver(() => Tenant)
  async tenant(@Root() user: User, @RequestEm() em: EntityManager): Promise<Tenant> {
    return Tenant.from(await em.findOneOrFail(TenantEntity, { id: user.tenantId }));
  }
}
