import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Action } from '../../auth/policy';
import { callerOf, type GatewayContext } from '../../server/context';
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
  async tenant(@Ctx() ctx: GatewayContext): Promise<Tenant> {
    return Tenant.from(await this.tenants.current(callerOf(ctx)));
  }

  @Authorized<Action>('tenant.create')
  @Mutation(() => CreateTenantPayload)
  async createTenant(@Arg('input') input: CreateTenantInput, @Ctx() ctx: GatewayContext): Promise<CreateTenantPayload> {
    const created = await this.tenants.create(callerOf(ctx), input);
    return { tenant: Tenant.from(created.tenant), admin: User.from(created.admin), token: created.token };
  }

  @Authorized<Action>('tenant.delete')
  @Mutation(() => Boolean, {
    description: 'Crypto-shreds the tenant: its data keys are destroyed, so its credentials can never be decrypted again.',
  })
  async deleteTenant(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<boolean> {
    return this.tenants.delete(callerOf(ctx), id);
  }

  @Authorized<Action>('tenant.updatePolicy')
  @Mutation(() => Tenant)
  async updateTenantPolicy(@Arg('input') input: UpdateTenantPolicyInput, @Ctx() ctx: GatewayContext): Promise<Tenant> {
    return Tenant.from(await this.tenants.updatePolicy(callerOf(ctx), input));
  }

  @Authorized<Action>('tenant.setPlatformKeyLimit')
  @Mutation(() => Tenant, {
    description: "Sets the operator's limit on a tenant's platform-key use (on/off, monthly USD cap); tenant admins cannot change it.",
  })
  async setPlatformKeyLimit(
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('input') input: PlatformKeyLimitInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Tenant> {
    return Tenant.from(await this.tenants.setPlatformKeyLimit(callerOf(ctx), tenantId, input));
  }

  @FieldResolver(() => String, { description: 'Which keyring wraps this tenant\'s data keys: "aws-kms" or "local".' })
  async keyring(@Root() tenant: Tenant, @Ctx() ctx: GatewayContext): Promise<string> {
    return this.dataKeys.keyringOf(ctx.em, tenant.id, tenant.dataKeyVersion);
  }
}
