import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { badInput, forbidden, notFound } from '../../common/errors';
import { isUuid } from '../../common/ids';
import { audited } from '../../audit/audited';
import type { AuditLog } from '../../audit/audit-log';
import type { Caller } from '../../server/context';
import type { CacheInvalidation } from '../../cache/cache-invalidation';
import type { ModelSelectionRules } from '../tenant/model-selection-rules';
import { TenantEntity } from '../tenant/tenant.entity';
import { Role } from './role';
import { UserEntity } from './user.entity';
import type { CreateUserInput } from './user.input';

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

const ADMIN_ROLES: ReadonlySet<Role> = new Set([Role.TENANT_ADMIN, Role.PLATFORM_ADMIN]);
export const isAdmin = (role: Role): boolean => ADMIN_ROLES.has(role);

export class UserService {
  constructor(
    private readonly models: ModelSelectionRules,
    private readonly audit: AuditLog,
    private readonly caches: CacheInvalidation,
  ) {}

  async me(caller: Caller): Promise<UserEntity> {
    return caller.em.findOneOrFail(UserEntity, { id: caller.principal.userId });
  }

  async list(caller: Caller): Promise<UserEntity[]> {
    return caller.em.find(UserEntity, { tenant: caller.principal.tenantId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** A user of the caller's tenant; anyone else's is NOT_FOUND, never FORBIDDEN. */
  async findInTenant(caller: Caller, userId: string): Promise<UserEntity> {
    const user = isUuid(userId)
      ? await caller.em.findOne(UserEntity, { id: userId, tenant: caller.principal.tenantId })
      : null;
    if (!user) throw notFound('User');
    return user;
  }

  async create(caller: Caller, input: CreateUserInput): Promise<UserEntity> {
    return audited(
      this.audit,
      caller,
      { action: 'user.create', targetType: 'user', detail: { role: input.role } },
      () => this.createUnaudited(caller, input),
      (user) => ({ targetId: user.id }),
    );
  }

  private async createUnaudited(caller: Caller, input: CreateUserInput): Promise<UserEntity> {
    if (input.role === Role.PLATFORM_ADMIN && caller.principal.role !== Role.PLATFORM_ADMIN) {
      throw forbidden('Only a platform admin can create platform admins');
    }
    const tenant = caller.em.getReference(TenantEntity, caller.principal.tenantId);
    const user = caller.em.create(UserEntity, {
      tenant,
      email: normalizeEmail(input.email),
      name: input.name?.trim() ?? null,
      role: input.role,
    });
    await flushUnique(caller.em, 'A user with this email already exists in this tenant', 'email');
    return user;
  }

  async setPreferredModel(caller: Caller, model: string | null): Promise<UserEntity> {
    const user = await this.me(caller);
    if (model !== null) {
      const tenant = await caller.em.findOneOrFail(TenantEntity, { id: caller.principal.tenantId });
      this.models.assertUsable(tenant, model);
    }
    user.preferredModel = model;
    await caller.em.flush();
    await this.caches.tenantChanged({ tenantId: caller.principal.tenantId });
    return user;
  }
}

/** Flushes, turning a unique-constraint race into a clear BAD_USER_INPUT. */
export async function flushUnique(em: EntityManager, message: string, field: string): Promise<void> {
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) {
      em.clear();
      throw badInput(message, field);
    }
    throw error;
  }
}
