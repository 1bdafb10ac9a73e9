import { Arg, Authorized, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Caller } from '../../auth/caller';
import { CurrentCaller, RequestEm } from '../../auth/current-caller';
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
    @CurrentCaller() caller: Caller,
  ): Promise<ApiToken[]> {
    return (await this.tokens.list(caller, { userId, tenantId })).map(ApiToken.from);
  }

  @Authorized()
  @Mutation(() => IssuedApiToken)
  async issueApiToken(
    @Arg('input') input: IssueApiTokenInput,
    @CurrentCaller() caller: Caller,
  ): Promise<IssuedApiToken> {
    const issued = await this.tokens.issue(caller, input);
    return { token: issued.token, apiToken: ApiToken.from(issued.entity) };
  }

  @Authorized()
  @Mutation(() => ApiToken)
  async revokeApiToken(@Arg('id', () => ID) id: string, @CurrentCaller() caller: Caller): Promise<ApiToken> {
    return ApiToken.from(await this.tokens.revoke(caller, id));
  }

  @FieldResolver(() => User, { description: "The token's owner: it acts as this user." })
  async user(@Root() token: ApiToken, @RequestEm() em: EntityManager): Promise<User> {
    return User.from(await em.findOneOrFail(UserEntity, { id: token.userId }));
  }
}
