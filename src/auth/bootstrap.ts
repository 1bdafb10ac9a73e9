import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiTokenEntity } from '../modules/token/api-token.entity';
import type { TokenOrigin } from '../modules/token/api-token.service';
import type { TenantService } from '../modules/tenant/tenant.service';
import { TenantEntity } from '../modules/tenant/tenant.entity';
import { Role } from '../modules/user/role';
import { UserEntity } from '../modules/user/user.entity';
import { hashBearerToken } from './bearer-token';

export const PLATFORM_TENANT_NAME = 'platform';
export const BOOTSTRAP_ADMIN_EMAIL = 'admin@keyward.local';
/** A bootstrap token has no actor; its token.issue event goes to the platform tenant's chain. */
const BOOTSTRAP_ORIGIN: TokenOrigin = { reason: 'bootstrap', actorId: null };
/** Arbitrary constant for pg_advisory_xact_lock, so replicas starting together bootstrap once. */
const BOOTSTRAP_LOCK = 0x6b77_0001;

export type BootstrapResult =
  { kind: 'existing' } | { kind: 'configured-token' } | { kind: 'generated'; token: string };

/**
 * Makes sure a PLATFORM_ADMIN can sign in. With `configuredToken`, that token is made to
 * belong to the platform admin; without it, an empty database gets a generated token that is
 * returned once for printing and never stored in the clear.
 */
export async function bootstrapPlatformAdmin(
  em: EntityManager,
  tenants: TenantService,
  configuredToken: string | undefined,
): Promise<BootstrapResult> {
  return em.transactional(async (tx) => {
    await tx.execute('select pg_advisory_xact_lock(?)', [BOOTSTRAP_LOCK]);
    const platform = await tx.findOne(TenantEntity, { isPlatform: true });
    if (!platform) {
      const created = await tenants.provision(tx, {
        name: PLATFORM_TENANT_NAME,
        adminEmail: BOOTSTRAP_ADMIN_EMAIL,
        adminName: 'Platform admin',
        adminRole: Role.PLATFORM_ADMIN,
        isPlatform: true,
        tokenOrigin: BOOTSTRAP_ORIGIN,
      });
      if (!configuredToken) return { kind: 'generated', token: created.token } as const;
      await tenants.tokens.register(
        tx,
        created.admin,
        'bootstrap token',
        hashBearerToken(configuredToken),
        BOOTSTRAP_ORIGIN,
      );
      return { kind: 'configured-token' } as const;
    }
    if (!configuredToken) return { kind: 'existing' } as const;
    const tokenHash = hashBearerToken(configuredToken);
    const existing = await tx.findOne(ApiTokenEntity, { tokenHash }, { populate: ['user'] });
    if (existing && existing.user.getEntity().role === Role.PLATFORM_ADMIN && !existing.revokedAt) {
      return { kind: 'configured-token' } as const;
    }
    if (existing) {
      throw new Error('KEYWARD_BOOTSTRAP_TOKEN is already in use by a token that is revoked or not a platform admin');
    }
    const admin = await tx.findOneOrFail(
      UserEntity,
      { tenant: platform, role: Role.PLATFORM_ADMIN },
      { orderBy: { createdAt: 'asc' } },
    );
    await tenants.tokens.register(tx, admin, 'bootstrap token', tokenHash, BOOTSTRAP_ORIGIN);
    return { kind: 'configured-token' } as const;
  });
}
