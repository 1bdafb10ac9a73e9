import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditLog } from '../audit/audit-log';
import type { TenantScopedCache } from '../cache/tenant-scoped-cache';
import { unauthenticated } from '../common/errors';
import { ApiTokenEntity } from '../modules/token/api-token.entity';
import { hashBearerToken, parseAuthorization } from './bearer-token';
import { FailedAuthThrottle } from './failed-auth-throttle';
import type { Principal } from './principal';
import type { EntityManagerSource } from '../db/fork-on-use';
import { LAST_USED_RESOLUTION_MS, LastUseClaims } from '../common/last-use-claims';

export interface RequestFacts {
  requestId: string;
  ip: string | null;
}

/** What one token row says, as cached per token hash (only while the token is not revoked). */
export interface TokenFacts {
  tokenId: string;
  principal: Principal;
  revokedAt: Date | null;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

export type TokenCache = TenantScopedCache<TokenFacts>;

/**
 * Turns an Authorization value into a Principal. HTTP and WebSocket both call this, once per
 * operation, so a revoked token stops working on an open socket too: revoking drops the
 * token's cached facts in every process (see CacheInvalidation).
 * Returns null when no credentials were sent; throws UNAUTHENTICATED when they are bad.
 */
export class Authenticator {
  /** lastUsedAt is a hint for humans; writing it on every request would cost a write per request. */
  private readonly lastUse = new LastUseClaims();

  constructor(
    private readonly audit: AuditLog,
    private readonly tokens: TokenCache,
    private readonly failures: FailedAuthThrottle = new FailedAuthThrottle(),
    private readonly now: () => Date = () => new Date(),
  ) {}

  async authenticate(
    scope: EntityManagerSource,
    authorization: unknown,
    facts: RequestFacts,
  ): Promise<Principal | null> {
    const parsed = parseAuthorization(authorization);
    if (parsed.kind === 'none') return null;
    if (parsed.kind === 'malformed') {
      await this.failed(facts, 'malformed', null, null);
      throw unauthenticated('Malformed Authorization header: expected Bearer kw_…');
    }

    const tokenHash = hashBearerToken(parsed.token);
    const token = await this.tokens.get(tokenHash, () => loadToken(scope.em, tokenHash));
    const now = this.now();
    if (!token) {
      await this.failed(facts, 'unknown', null, null);
      throw unauthenticated('Unknown token');
    }
    if (token.revokedAt || (token.expiresAt && token.expiresAt <= now)) {
      const reason = token.revokedAt ? 'revoked' : 'expired';
      await this.failed(facts, reason, token.principal.tenantId, token.tokenId);
      throw unauthenticated(token.revokedAt ? 'Token revoked' : 'Token expired');
    }

    if (this.lastUse.claim(token.tokenId, token.lastUsedAt, now.getTime())) await this.touch(scope, token.tokenId, now);
    return token.principal;
  }

  /**
   * Writes lastUsedAt unless another replica wrote it within the minute. Only the request that
   * claimed the write waits for it; if it fails, that request fails and the next one tries again.
   */
  private async touch(scope: EntityManagerSource, tokenId: string, now: Date): Promise<void> {
    const recent = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
    try {
      await scope.em.nativeUpdate(
        ApiTokenEntity,
        { id: tokenId, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: recent } }] },
        { lastUsedAt: now },
      );
    } catch (error) {
      this.lastUse.forget(tokenId);
      throw error;
    }
  }

  /** Audits a refused token, within FailedAuthThrottle's bounds. */
  private async failed(
    facts: RequestFacts,
    reason: string,
    tenantId: string | null,
    tokenId: string | null,
  ): Promise<void> {
    const admitted = await this.failures.admit(`${facts.ip ?? 'unknown'} ${tenantId ?? 'global'} ${reason}`);
    if (!admitted) return;
    await this.audit.append({
      tenantId,
      action: 'auth.failed',
      targetType: tokenId ? 'api_token' : null,
      targetId: tokenId,
      outcome: AuditOutcome.DENIED,
      requestId: facts.requestId,
      ip: facts.ip,
      detail: admitted.unrecordedBefore ? { reason, unrecordedBefore: admitted.unrecordedBefore } : { reason },
    });
  }
}

/** The token row and its owner; kept in the cache only while the token is usable. */
async function loadToken(em: EntityManager, tokenHash: string) {
  const token = await em.findOne(ApiTokenEntity, { tokenHash }, { populate: ['user'] });
  if (!token) return { tenantId: null, value: null };
  const owner = token.user.getEntity();
  const value: TokenFacts = {
    tokenId: token.id,
    principal: { userId: owner.id, tenantId: owner.tenant.id, role: owner.role, tokenId: token.id },
    revokedAt: token.revokedAt ?? null,
    expiresAt: token.expiresAt ?? null,
    lastUsedAt: token.lastUsedAt ?? null,
  };
  return { tenantId: token.revokedAt ? null : owner.tenant.id, value };
}
