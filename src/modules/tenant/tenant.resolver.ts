import { Arg, Authorized, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Caller } from '../../auth/caller';
import { CurrentCaller, RequestEm } from '../../auth/current-caller';
import type { Action } from '../../auth/policy';
import type { DataKeyService } from '../../vault/data-key.service';
import { User } from '../user/user.type';
import { CreateTenantPayload } from './create-tenant.payload';
import { CreateTenantInput, PlatformKeyLimitInput, UpdateTenantPolicyInput } from './tenant.input';
import type { TenantService } from './tenant.service';
import { Tenant } from './tenant.type';

@Resolver(() => Tenant)
export class TenantResolver {
  constructor(
    private readonly tenants: TenantService,
    private readonly dataKeys: DataKeyService,
  ) {}

  @Authorized<Action>('tenant.read')
  @Query(() => Tenant)
  async tenant(@CurrentCaller() caller: Caller): Promise<Tenant> {
    return Tenant.from(await this.tenants.current(caller));
  }

  @Authorized<Action>('tenant.create')
  @Mutation(() => CreateTenantPayload)
  async createTenant(
    @Arg('input') input: CreateTenantInput,
    @CurrentCaller() caller: Caller,
  ): Promise<CreateTenantPayload> {
    const created = await this.tenants.create(caller, input);
    return { tenant: Tenant.from(created.tenant), admin: User.from(created.admin), token: created.token };
  }

  @Authorized<Action>('tenant.delete')
  @Mutation(() => Boolean, {
    description:
      'Crypto-shreds the tenant: its data keys are destroyed, so its credentials can never be decrypted again.',
  })
  async deleteTenant(@Arg('id', () => ID) id: string, @CurrentCaller() caller: Caller): Promise<boolean> {
    return this.tenants.delete(caller, id);
  }

  @Authorized<Action>('tenant.updatePolicy')
  @Mutation(() => Tenant)
  async updateTenantPolicy(
    @Arg('input') input: UpdateTenantPolicyInput,
    @CurrentCaller() caller: Caller,
  ): Promise<Tenant> {
    return Tenant.from(await this.tenants.updatePolicy(caller, input));
  }

  @Authorized<Action>('tenant.setPlatformKeyLimit')
  @Mutation(() => Tenant, {
    description:
      "Sets the operator's limit on a tenant's platform-key use (on/off, monthly USD cap); tenant admins cannot change it.",
  })
  async setPlatformKeyLimit(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('input') input: PlatformKeyLimitInput,
    @CurrentCaller() caller: Caller,
  ): Promise<Tenant> {
    return Tenant.from(await this.tenants.setPlatformKeyLimit(caller, tenantId, input));
  }

  @FieldResolver(() => String, { description: 'Which keyring wraps this tenant\'s data keys: "aws-kms" or "local".' })
  async keyring(@Root() tenant: Tenant, @RequestEm() em: EntityManager): Promise<string> {
    return this.dataKeys.keyringOf(em, tenant.id, tenant.dataKeyVersion);
  }
}
