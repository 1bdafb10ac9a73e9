import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { callerOf, type GatewayContext } from '../../server/context';
import { UserEntity } from '../user/user.entity';
import { User } from '../user/user.type';
import { IssueApiTokenInput } from './api-token.input';
import type { ApiTokenService } from './api-token.service';
import { ApiToken, IssuedApiToken } from './api-token.type';

@Resolver(() => ApiToken)
export class ApiTokenResolver {
  constructor(private readonly tokens: ApiTokenService) {}

  @Authorized()
  @Query(() => [ApiToken], {
    description:
      "Newest first, revoked and expired ones included. Default: the caller's own tokens, or for admins every token of the tenant they may act on (not those of a higher role).",
  })
  async apiTokens(
    @Arg('userId', () => ID, { nullable: true, description: "Only this user's tokens." }) userId: string | null,
    @Arg('tenantId', () => ID, { nullable: true, description: "PLATFORM_ADMIN only: another tenant's tokens." })
    tenantId: string | null,
    @Ctx() ctx: GatewayContext,
  ): Promise<ApiToken[]> {
    return (await this.tokens.list(callerOf(ctx), { userId, tenantId })).map(ApiToken.from);
  }

  @Authorized()
  @Mutation(() => IssuedApiToken)
  async issueApiToken(@Arg('input') input: IssueApiTokenInput, @Ctx() ctx: GatewayContext): Promise<IssuedApiToken> {
    const issued = await this.tokens.issue(callerOf(ctx), input);
    return { token: issued.token, apiToken: ApiToken.from(issued.entity) };
  }

  @Authorized()
  @Mutation(() => ApiToken)
  async revokeApiToken(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<ApiToken> {
    return ApiToken.from(await this.tokens.revoke(callerOf(ctx), id));
  }

  @FieldResolver(() => User, { description: "The token's owner: it acts as this user." })
  async user(@Root() token: ApiToken, @Ctx() ctx: GatewayContext): Promise<User> {
    return User.from(await ctx.em.findOneOrFail(UserEntity, { id: token.userId }));
  }
}
