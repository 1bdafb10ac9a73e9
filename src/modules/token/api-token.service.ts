import type { EntityManager } from '@mikro-orm/postgresql';
import { generateBearerToken, hashBearerToken } from '../../auth/bearer-token';
import { assertCan, can, tenantWide } from '../../auth/policy';
import { badInput, notFound } from '../../common/errors';
import { isUuid } from '../../common/ids';
import { audited } from '../../audit/audited';
import { AuditOutcome } from '../../audit/audit-event.entity';
import type { AuditLog } from '../../audit/audit-log';
import type { Caller } from '../../auth/caller';
import type { CacheInvalidation } from '../../cache/cache-invalidation';
import { UserEntity } from '../user/user.entity';
import { targetOf, type UserService } from '../user/user.service';
import { ApiTokenEntity } from './api-token.entity';
import type { IssueApiTokenInput } from './api-token.input';

export interface IssuedToken {
  token: string;
  entity: ApiTokenEntity;
}

/** Who caused a token that no issueApiToken call made (a tenant's first admin token, the bootstrap token). */
export interface TokenOrigin {
  /** Why it exists, as the audit event's detail.reason: `tenant.create`, `bootstrap`. */
  reason: string;
  /** The chain the event goes to (the actor's tenant); default: the owner's tenant. */
  tenantId?: string;
  actorId: string | null;
  requestId?: string | null;
  ip?: string | null;
}

export interface TokenFilter {
  userId?: string | null;
  tenantId?: string | null;
}

export class ApiTokenService {
  constructor(
    private readonly users: UserService,
    private readonly audit: AuditLog,
    private readonly caches: CacheInvalidation,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Persists a new token for `user` (on flush) and returns the bearer string, which is never stored. */
  mint(em: EntityManager, user: UserEntity, name: string, expiresAt: Date | null = null): IssuedToken {
    const token = generateBearerToken();
    const entity = em.create(ApiTokenEntity, { user, name, tokenHash: hashBearerToken(token), expiresAt });
    return { token, entity };
  }

  /**
   * Creates a token row (written at `tx`'s next flush) outside issueApiToken, with its
   * token.issue event in the same transaction: such a token never exists without its audit
   * event. The chain's head stays locked until `tx` ends.
   */
  async register(
    tx: EntityManager,
    user: UserEntity,
    name: string,
    tokenHash: string,
    origin: TokenOrigin,
  ): Promise<ApiTokenEntity> {
    const entity = tx.create(ApiTokenEntity, { user, name, tokenHash });
    await this.audit.appendWithin(tx, [
      {
        tenantId: origin.tenantId ?? user.tenant.id,
        actorId: origin.actorId,
        action: 'token.issue',
        targetType: 'api_token',
        targetId: entity.id,
        outcome: AuditOutcome.SUCCESS,
        requestId: origin.requestId ?? null,
        ip: origin.ip ?? null,
        detail: { userId: user.id, tenantId: user.tenant.id, reason: origin.reason },
      },
    ]);
    return entity;
  }

  /** A new bearer token registered as `register` does; the string is returned once and never stored. */
  async mintRegistered(tx: EntityManager, user: UserEntity, name: string, origin: TokenOrigin): Promise<IssuedToken> {
    const token = generateBearerToken();
    const entity = await this.register(tx, user, name, hashBearerToken(token), origin);
    return { token, entity };
  }

  async issue(caller: Caller, input: IssueApiTokenInput): Promise<IssuedToken> {
    return audited(
      this.audit,
      caller,
      { action: 'token.issue', targetType: 'api_token', detail: { userId: input.userId ?? caller.principal.userId } },
      () => this.issueUnaudited(caller, input),
      (issued) => ({ targetId: issued.entity.id }),
    );
  }

  async revoke(caller: Caller, id: string): Promise<ApiTokenEntity> {
    return audited(this.audit, caller, { action: 'token.revoke', targetType: 'api_token', targetId: id }, () =>
      this.revokeUnaudited(caller, id),
    );
  }

  /**
   * Newest first. With `userId`: that user's tokens. Otherwise the tokens of the tenant
   * (`tenantId`, default the caller's) that the caller may see: its own, or for managers every
   * user's whose role does not rank above theirs.
   */
  async list(caller: Caller, filter: TokenFilter): Promise<ApiTokenEntity[]> {
    const { principal, em } = caller;
    const order = { orderBy: { createdAt: 'desc', id: 'desc' }, populate: ['user'] } as const;
    if (filter.userId) {
      const owner = await this.users.find(caller, filter.userId);
      if (filter.tenantId && filter.tenantId !== owner.tenant.id) throw notFound('User');
      assertCan(principal, 'token.list', targetOf(owner));
      return em.find(ApiTokenEntity, { user: owner.id }, order);
    }
    const tenantId = filter.tenantId ?? principal.tenantId;
    assertCan(principal, 'token.list', { tenantId });
    if (!isUuid(tenantId)) throw badInput('tenantId must be a tenant id', 'tenantId');
    if (!can(principal, 'token.list', tenantWide(tenantId))) {
      return em.find(ApiTokenEntity, { user: principal.userId }, order);
    }
    const tokens = await em.find(ApiTokenEntity, { user: { tenant: tenantId } }, order);
    return tokens.filter((token) => can(principal, 'token.list', targetOf(token.user.getEntity())));
  }

  private async issueUnaudited(caller: Caller, input: IssueApiTokenInput): Promise<IssuedToken> {
    if (input.expiresAt && input.expiresAt.getTime() <= this.now().getTime()) {
      throw badInput('expiresAt must be in the future', 'expiresAt');
    }
    const forSelf = !input.userId || input.userId === caller.principal.userId;
    const user = forSelf ? await this.users.me(caller) : await this.users.find(caller, input.userId!);
    assertCan(caller.principal, 'token.issue', targetOf(user));
    const issued = this.mint(caller.em, user, input.name.trim(), input.expiresAt ?? null);
    await caller.em.flush();
    return issued;
  }

  private async revokeUnaudited(caller: Caller, id: string): Promise<ApiTokenEntity> {
    const token = isUuid(id) ? await caller.em.findOne(ApiTokenEntity, { id }, { populate: ['user'] }) : null;
    if (!token) throw notFound('API token');
    const owner = token.user.getEntity();
    assertCan(caller.principal, 'token.revoke', targetOf(owner, 'API token'));
    if (!token.revokedAt) {
      token.revokedAt = this.now();
      await caller.em.flush();
      await this.caches.tenantChanged({
        tenantId: owner.tenant.id,
        stop: { reason: 'TOKEN_REVOKED', tokenId: token.id },
      });
    }
    return token;
  }
}
