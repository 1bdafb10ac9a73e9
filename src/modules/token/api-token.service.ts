import type { EntityManager } from '@mikro-orm/postgresql';
import { generateBearerToken, hashBearerToken } from '../../auth/bearer-token';
import { badInput, forbidden, notFound } from '../../common/errors';
import { isUuid } from '../../common/ids';
import { audited } from '../../audit/audited';
import type { AuditLog } from '../../audit/audit-log';
import type { Caller } from '../../server/context';
import type { CacheInvalidation } from '../../cache/cache-invalidation';
import { UserEntity } from '../user/user.entity';
import { isAdmin, type UserService } from '../user/user.service';
import { ApiTokenEntity } from './api-token.entity';
import type { IssueApiTokenInput } from './api-token.input';

export interface IssuedToken {
  token: string;
  entity: ApiTokenEntity;
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

  private async issueUnaudited(caller: Caller, input: IssueApiTokenInput): Promise<IssuedToken> {
    if (input.expiresAt && input.expiresAt.getTime() <= this.now().getTime()) {
      throw badInput('expiresAt must be in the future', 'expiresAt');
    }
    const forSelf = !input.userId || input.userId === caller.principal.userId;
    const user = forSelf ? await this.users.me(caller) : await this.users.findInTenant(caller, input.userId!);
    if (!forSelf && !isAdmin(caller.principal.role)) throw forbidden('Only admins can issue tokens for other users');
    const issued = this.mint(caller.em, user, input.name.trim(), input.expiresAt ?? null);
    await caller.em.flush();
    return issued;
  }

  private async revokeUnaudited(caller: Caller, id: string): Promise<ApiTokenEntity> {
    const token = isUuid(id)
      ? await caller.em.findOne(ApiTokenEntity, { id, user: { tenant: caller.principal.tenantId } })
      : null;
    if (!token) throw notFound('API token');
    if (token.user.id !== caller.principal.userId && !isAdmin(caller.principal.role)) {
      throw forbidden("Only admins can revoke other users' tokens");
    }
    if (!token.revokedAt) {
      token.revokedAt = this.now();
      await caller.em.flush();
      await this.caches.tenantChanged({ tenantId: caller.principal.tenantId, stop: { reason: 'TOKEN_REVOKED', tokenId: token.id } });
    }
    return token;
  }
}
