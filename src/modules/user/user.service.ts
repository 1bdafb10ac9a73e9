import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { assertCan, userTarget, type Target } from '../../auth/policy';
import { badInput, notFound } from '../../common/errors';
import { isUuid } from '../../common/ids';
import { audited } from '../../audit/audited';
import type { AuditLog } from '../../audit/audit-log';
import type { Caller } from '../../auth/caller';
import type { CacheInvalidation } from '../../cache/cache-invalidation';
import type { ModelSelectionRules } from '../../catalog/model-selection-rules';
import { TenantEntity } from '../tenant/tenant.entity';
import { UserEntity } from './user.entity';
import type { CreateUserInput } from './user.input';

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

/** The policy target for acting on `user` or on what it owns (its tokens, its personal keys). */
export const targetOf = (user: UserEntity, hiddenAs = 'User'): Target =>
  userTarget({ id: user.id, role: user.role, tenantId: user.tenant.id }, hiddenAs);

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
    return caller.em.find(
      UserEntity,
      { tenant: caller.principal.tenantId },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
  }

  /** A user of any tenant, or NOT_FOUND; whether the caller may touch it is the policy's to say. */
  async find(caller: Caller, userId: string): Promise<UserEntity> {
    const user = isUuid(userId) ? await caller.em.findOne(UserEntity, { id: userId }) : null;
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
    assertCan(caller.principal, 'user.create', {
      tenantId: caller.principal.tenantId,
      ownerId: null,
      ownerRole: input.role,
    });
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
      this.models.assertCurrent(model);
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
