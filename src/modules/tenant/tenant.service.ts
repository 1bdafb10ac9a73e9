import type { EntityManager } from '@mikro-orm/postgresql';
import { assertCan } from '../../auth/policy';
import { badInput, forbidden, notFound } from '../../common/errors';
import { isUuid } from '../../common/ids';
import { audited, callerFacts } from '../../audit/audited';
import { AuditOutcome } from '../../audit/audit-event.entity';
import type { AuditLog } from '../../audit/audit-log';
import type { Caller } from '../../auth/caller';
import type { CacheInvalidation } from '../../cache/cache-invalidation';
import type { DataKeyService } from '../../vault/data-key.service';
import type { ApiTokenService, TokenOrigin } from '../token/api-token.service';
import { Role } from '../user/role';
import { UserEntity } from '../user/user.entity';
import { flushUnique, normalizeEmail } from '../user/user.service';
import type { ModelSelectionRules } from '../../catalog/model-selection-rules';
import { TenantEntity } from './tenant.entity';
import type { CreateTenantInput, PlatformKeyLimitInput, UpdateTenantPolicyInput } from './tenant.input';

export interface CreatedTenant {
  tenant: TenantEntity;
  admin: UserEntity;
  token: string;
}

export class TenantService {
  constructor(
    private readonly dataKeys: DataKeyService,
    /** Also used by the bootstrap, which registers the configured token of the platform admin. */
    readonly tokens: ApiTokenService,
    private readonly models: ModelSelectionRules,
    private readonly audit: AuditLog,
    private readonly caches: CacheInvalidation,
  ) {}

  async current(caller: Caller): Promise<TenantEntity> {
    return caller.em.findOneOrFail(TenantEntity, { id: caller.principal.tenantId });
  }

  /** Tenant, its data key v1, its first admin and that admin's token: all or nothing. */
  async create(caller: Caller, input: CreateTenantInput): Promise<CreatedTenant> {
    const created = await audited(
      this.audit,
      caller,
      {
        action: 'tenant.create',
        targetType: 'tenant',
        detail: {
          name: input.name.trim(),
          ...(input.platformKey ? { platformKey: limitDetail(input.platformKey) } : {}),
        },
      },
      () => this.createUnaudited(caller, input),
      (result) => ({ targetId: result.tenant.id, detail: { adminId: result.admin.id } }),
    );
    await this.audit.append({
      ...callerFacts(caller),
      tenantId: created.tenant.id,
      action: 'datakey.create',
      targetType: 'tenant',
      targetId: created.tenant.id,
      outcome: AuditOutcome.SUCCESS,
      detail: { version: 1, keyring: this.dataKeys.currentKeyring },
    });
    return created;
  }

  private async createUnaudited(caller: Caller, input: CreateTenantInput): Promise<CreatedTenant> {
    const name = input.name.trim();
    return caller.em.transactional(async (em) => {
      if (await em.count(TenantEntity, { nameKey: name.toLowerCase() })) {
        throw badInput('A tenant with this name already exists', 'name');
      }
      const created = await this.provision(em, {
        name,
        adminEmail: input.adminEmail,
        adminName: input.adminName ?? null,
        adminRole: Role.TENANT_ADMIN,
        isPlatform: false,
        tokenOrigin: { reason: 'tenant.create', ...callerFacts(caller) },
      });
      if (input.platformKey) applyPlatformKeyLimit(created.tenant, input.platformKey);
      await flushUnique(em, 'A tenant with this name already exists', 'name');
      return created;
    });
  }

  /**
   * Creates the rows of a tenant in `em` (flushed by the caller's transaction), and the
   * token.issue event of its admin's first token, as `tokenOrigin` says.
   */
  async provision(
    em: EntityManager,
    spec: {
      name: string;
      adminEmail: string;
      adminName: string | null;
      adminRole: Role;
      isPlatform: boolean;
      tokenOrigin: TokenOrigin;
    },
  ): Promise<CreatedTenant> {
    const tenant = em.create(TenantEntity, {
      name: spec.name,
      nameKey: spec.name.toLowerCase(),
      isPlatform: spec.isPlatform,
    });
    await this.dataKeys.createFirst(em, tenant);
    const admin = em.create(UserEntity, {
      tenant,
      email: normalizeEmail(spec.adminEmail),
      name: spec.adminName?.trim() ?? null,
      role: spec.adminRole,
    });
    const { token } = await this.tokens.mintRegistered(em, admin, 'initial admin token', spec.tokenOrigin);
    return { tenant, admin, token };
  }

  async updatePolicy(caller: Caller, input: UpdateTenantPolicyInput): Promise<TenantEntity> {
    const changed = Object.keys(input).filter((key) => input[key as keyof UpdateTenantPolicyInput] !== undefined);
    return audited(
      this.audit,
      caller,
      { action: 'policy.update', targetType: 'tenant', targetId: caller.principal.tenantId, detail: { changed } },
      () => this.updatePolicyUnaudited(caller, input),
    );
  }

  private async updatePolicyUnaudited(caller: Caller, input: UpdateTenantPolicyInput): Promise<TenantEntity> {
    const tenant = await this.current(caller);
    const next = {
      allowPlatformKey: input.allowPlatformKey === undefined ? tenant.allowPlatformKey : input.allowPlatformKey,
      allowedModels: input.allowedModels === undefined ? tenant.allowedModels : input.allowedModels,
      defaultModel: input.defaultModel === undefined ? tenant.defaultModel : input.defaultModel,
      monthlyBudgetUsd: input.monthlyBudgetUsd === undefined ? tenant.monthlyBudgetUsd : input.monthlyBudgetUsd,
      requestsPerMinute: input.requestsPerMinute === undefined ? tenant.requestsPerMinute : input.requestsPerMinute,
      maxSteps: input.maxSteps === undefined ? tenant.maxSteps : input.maxSteps,
    };
    if (next.maxSteps === null) throw badInput('maxSteps cannot be null', 'maxSteps');
    if (next.allowPlatformKey === null) throw badInput('allowPlatformKey cannot be null', 'allowPlatformKey');
    if (next.defaultModel === null) throw badInput('defaultModel cannot be null', 'defaultModel');
    if (next.allowedModels) {
      next.allowedModels = [...new Set(next.allowedModels)];
      if (next.allowedModels.length === 0)
        throw badInput('allowedModels must name at least one model (null allows all)', 'allowedModels');
      next.allowedModels.forEach((model) => this.models.assertKnown(model));
    }
    this.models.assertUsable({ allowedModels: next.allowedModels }, next.defaultModel);
    if (next.defaultModel !== tenant.defaultModel) this.models.assertCurrent(next.defaultModel);
    caller.em.assign(tenant, next);
    await caller.em.flush();
    await this.caches.tenantChanged({ tenantId: tenant.id });
    return tenant;
  }

  /** The operator's limit on a tenant's platform-key use; the tenant's own admins cannot change it. */
  async setPlatformKeyLimit(caller: Caller, tenantId: string, input: PlatformKeyLimitInput): Promise<TenantEntity> {
    return audited(
      this.audit,
      caller,
      { action: 'platformkey.limit', targetType: 'tenant', targetId: tenantId, detail: limitDetail(input) },
      () => this.setPlatformKeyLimitUnaudited(caller, tenantId, input),
    );
  }

  private async setPlatformKeyLimitUnaudited(
    caller: Caller,
    tenantId: string,
    input: PlatformKeyLimitInput,
  ): Promise<TenantEntity> {
    const tenant = isUuid(tenantId) ? await caller.em.findOne(TenantEntity, { id: tenantId }) : null;
    if (!tenant) throw notFound('Tenant');
    assertCan(caller.principal, 'tenant.setPlatformKeyLimit', { tenantId: tenant.id, hiddenAs: 'Tenant' });
    applyPlatformKeyLimit(tenant, input);
    await caller.em.flush();
    await this.caches.tenantChanged({ tenantId: tenant.id });
    return tenant;
  }

  /** Crypto-shreds a tenant: its data keys go first, then every row that belonged to it. */
  async delete(caller: Caller, id: string): Promise<boolean> {
    return audited(this.audit, caller, { action: 'tenant.delete', targetType: 'tenant', targetId: id }, () =>
      this.deleteUnaudited(caller, id),
    );
  }

  private async deleteUnaudited(caller: Caller, id: string): Promise<boolean> {
    const tenant = isUuid(id) ? await caller.em.findOne(TenantEntity, { id }) : null;
    if (!tenant) throw notFound('Tenant');
    if (tenant.isPlatform) throw forbidden('The platform tenant cannot be deleted');
    await caller.em.transactional(async (em) => {
      await this.dataKeys.destroyTenantKeys(em, tenant.id);
      await em.nativeDelete(TenantEntity, { id: tenant.id });
    });
    this.dataKeys.forgetCached(tenant.id);
    await this.caches.tenantChanged({ tenantId: tenant.id, dataKeys: true, stop: { reason: 'TENANT_DELETED' } });
    return true;
  }
}

/** Omitted fields keep their value; `enabled` cannot be null, `monthlyCapUsd` null removes the cap. */
function applyPlatformKeyLimit(tenant: TenantEntity, input: PlatformKeyLimitInput): void {
  if (input.enabled === null) throw badInput('platformKey.enabled cannot be null', 'enabled');
  if (input.enabled !== undefined) tenant.platformKeyEnabled = input.enabled;
  if (input.monthlyCapUsd !== undefined) tenant.platformKeyMonthlyCapUsd = input.monthlyCapUsd;
}

const limitDetail = (input: PlatformKeyLimitInput): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries({ enabled: input.enabled, monthlyCapUsd: input.monthlyCapUsd }).filter(
      ([, value]) => value !== undefined,
    ),
  );
