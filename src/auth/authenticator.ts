import type { EntityManager } from '@mikro-orm/postgresql';
import { unauthenticated } from '../common/errors';
import { ApiTokenEntity } from '../modules/token/api-token.entity';
import { hashBearerToken, parseAuthorization } from './bearer-token';
import type { Principal } from './principal';

/** lastUsedAt is a hint for humans; writing it on every request would cost a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Turns an Authorization value into a Principal. HTTP and WebSocket both call this, once per
 * operation, so a revoked token stops working on an open socket too.
 * Returns null when no credentials were sent; throws UNAUTHENTICATED when they are bad.
 */
export class Authenticator {
  constructor(private readonly now: () => Date = () => new Date()) {}

  async authenticate(em: EntityManager, authorization: unknown): Promise<Principal | null> {
    const parsed = parseAuthorization(authorization);
    if (parsed.kind === 'none') return null;
    if (parsed.kind === 'malformed') throw unauthenticated('Malformed Authorization header: expected Bearer kw_…');

    const token = await em.findOne(
      ApiTokenEntity,
      { tokenHash: hashBearerToken(parsed.token) },
      { populate: ['user'] },
    );
    const now = this.now();
    if (!token) throw unauthenticated('Unknown token');
    if (token.revokedAt) throw unauthenticated('Token revoked');
    if (token.expiresAt && token.expiresAt <= now) throw unauthenticated('Token expired');

    if (!token.lastUsedAt || now.getTime() - token.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await em.nativeUpdate(ApiTokenEntity, { id: token.id }, { lastUsedAt: now });
    }
    const user = token.user.getEntity();
    return { userId: user.id, tenantId: user.tenant.id, role: user.role, tokenId: token.id };
  }
}
