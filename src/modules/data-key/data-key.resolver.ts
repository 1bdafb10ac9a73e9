import { Authorized, Int, Mutation, Resolver } from 'type-graphql';
import type { Caller } from '../../auth/caller';
import { CurrentCaller } from '../../auth/current-caller';
import type { Action } from '../../auth/policy';
import { Tenant } from '../tenant/tenant.type';
import type { KeyManagementService } from './key-management.service';

@Resolver()
export class DataKeyResolver {
  constructor(private readonly keyManagement: KeyManagementService) {}

  @Authorized<Action>('datakey.rotate')
  @Mutation(() => Tenant, {
    description: 'New tenant data key version; every credential of the tenant is re-encrypted under it.',
  })
  async rotateDataKey(@CurrentCaller() caller: Caller): Promise<Tenant> {
    return Tenant.from(await this.keyManagement.rotate(caller));
  }

  @Authorized<Action>('datakey.rewrap')
  @Mutation(() => Int, {
    description: "Re-wraps every tenant's data keys under the current master key or KMS key; returns how many.",
  })
  async rewrapDataKeys(@CurrentCaller() caller: Caller): Promise<number> {
    return this.keyManagement.rewrapAll(caller);
  }
}
