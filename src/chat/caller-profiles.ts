import type { Principal } from '../auth/principal';
import type { TenantScopedCache } from '../cache/tenant-scoped-cache';
import { TenantEntity } from '../modules/tenant/tenant.entity';
import { UserEntity } from '../modules/user/user.entity';
import type { EntityManagerSource } from '../db/fork-on-use';

/** The parts of a tenant's row that decide how a chat is served. */
export type TenantPolicy = Readonly<
  Pick<
    TenantEntity,
    | 'id'
    | 'allowPlatformKey'
    | 'allowedModels'
    | 'defaultModel'
    | 'monthlyBudgetUsd'
    | 'requestsPerMinute'
    | 'maxSteps'
    | 'platformKeyEnabled'
    | 'platformKeyMonthlyCapUsd'
  >
>;

/** What planning a chat needs to know of the caller beyond the principal. */
export interface CallerProfile {
  tenant: TenantPolicy;
  preferredModel: string | null;
}

export type CallerProfileCache = TenantScopedCache<CallerProfile>;

/** The caller's tenant policy and model preference, cached per user until their tenant changes. */
export class CallerProfiles {
  constructor(private readonly cache: CallerProfileCache) {}

  async of(scope: EntityManagerSource, principal: Principal): Promise<CallerProfile> {
    const profile = await this.cache.get(`${principal.tenantId}:${principal.userId}`, async () => {
      const { em } = scope;
      const [tenant, user] = await Promise.all([
        em.findOneOrFail(TenantEntity, { id: principal.tenantId }),
        em.findOneOrFail(UserEntity, { id: principal.userId }),
      ]);
      const policy: TenantPolicy = {
        id: tenant.id,
        allowPlatformKey: tenant.allowPlatformKey,
        allowedModels: tenant.allowedModels ? [...tenant.allowedModels] : null,
        defaultModel: tenant.defaultModel,
        monthlyBudgetUsd: tenant.monthlyBudgetUsd,
        requestsPerMinute: tenant.requestsPerMinute,
        maxSteps: tenant.maxSteps,
        platformKeyEnabled: tenant.platformKeyEnabled,
        platformKeyMonthlyCapUsd: tenant.platformKeyMonthlyCapUsd,
      };
      return { tenantId: tenant.id, value: { tenant: policy, preferredModel: user.preferredModel ?? null } };
    });
    return profile!;
  }
}
