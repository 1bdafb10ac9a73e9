import { Arg, Authorized, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Caller } from '../../auth/caller';
import { CurrentCaller, RequestEm } from '../../auth/current-caller';
import type { Action } from '../../auth/policy';
import { UserEntity } from '../user/user.entity';
import { User } from '../user/user.type';
import { SetCredentialInput } from './credential.input';
import type { CredentialService } from './credential.service';
import { CredentialTest } from './credential-test.type';
import { Credential, KeyStatus } from './credential.type';
import { Provider } from './provider';

@Resolver(() => Credential)
export class CredentialResolver {
  constructor(private readonly credentialService: CredentialService) {}

  @Authorized()
  @Query(() => [Credential], {
    description: "The caller's personal credentials, and the tenant's credentials for admins.",
  })
  async credentials(@CurrentCaller() caller: Caller): Promise<Credential[]> {
    return (await this.credentialService.list(caller)).map(Credential.from);
  }

  @Authorized<Action>('credential.status')
  @Query(() => KeyStatus)
  async keyStatus(
    @Arg('provider', () => Provider) provider: Provider,
    @CurrentCaller() caller: Caller,
  ): Promise<KeyStatus> {
    return Object.assign(new KeyStatus(), await this.credentialService.keyStatus(caller, provider));
  }

  @Authorized()
  @Mutation(() => Credential, {
    description: "Creates or replaces the caller's (PERSONAL) or the tenant's (TENANT) key for the provider.",
  })
  async setCredential(@Arg('input') input: SetCredentialInput, @CurrentCaller() caller: Caller): Promise<Credential> {
    return Credential.from(await this.credentialService.set(caller, input));
  }

  @Authorized()
  @Mutation(() => Boolean)
  async deleteCredential(@Arg('id', () => ID) id: string, @CurrentCaller() caller: Caller): Promise<boolean> {
    return this.credentialService.delete(caller, id);
  }

  @Authorized<Action>('credential.test')
  @Mutation(() => CredentialTest, {
    description: 'Asks the provider again whether a stored key is accepted and records the answer on the credential.',
  })
  async testCredential(@Arg('id', () => ID) id: string, @CurrentCaller() caller: Caller): Promise<CredentialTest> {
    const outcome = await this.credentialService.test(caller, id);
    return Object.assign(new CredentialTest(), {
      credential: Credential.from(outcome.row),
      result: outcome.result,
      message: outcome.message,
    });
  }

  @FieldResolver(() => User, { nullable: true, description: 'The owning user, for PERSONAL credentials.' })
  async owner(@Root() credential: Credential, @RequestEm() em: EntityManager): Promise<User | null> {
    if (!credential.ownerId) return null;
    return User.from(await em.findOneOrFail(UserEntity, { id: credential.ownerId }));
  }
}
