import type { FilterQuery } from '@mikro-orm/core';
import { assertCan } from '../auth/policy';
import { badInput } from '../common/errors';
import { isUuid } from '../common/ids';
import type { Caller } from '../auth/caller';
import { AuditEventEntity } from './audit-event.entity';
import { chainOf } from './audit-log';
import type { AuditKeyService } from '../vault/audit-key.service';
import {
  parseExpectedHead,
  readChainHead,
  verifyChain,
  type ChainHead,
  type VerificationResult,
} from './audit-verifier';
import type { AuditFilter, ExpectedAuditHead } from './audit.types';

export const MAX_PAGE_SIZE = 500;

export interface AuditPage {
  events: AuditEventEntity[];
  hasNextPage: boolean;
}

export const encodeCursor = (seq: number): string => Buffer.from(`seq:${seq}`).toString('base64url');

function decodeCursor(cursor: string): number {
  const match = /^seq:(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw badInput('after is not a cursor this API returned', 'after');
  return Number(match[1]);
}

export class AuditService {
  constructor(private readonly keys: AuditKeyService) {}

  /**
   * The tenant whose chain the caller may read: its own, or for a PLATFORM_ADMIN any tenant
   * named in the filter. Members never read the audit log.
   */
  chainFor(caller: Caller, requestedTenantId?: string | null): string {
    const { tenantId } = caller.principal;
    assertCan(caller.principal, 'audit.read', { tenantId: requestedTenantId || tenantId });
    if (!requestedTenantId || requestedTenantId === tenantId) return chainOf(tenantId);
    if (!isUuid(requestedTenantId)) throw badInput('tenantId must be a tenant id', 'tenantId');
    return chainOf(requestedTenantId);
  }

  /** Newest first, by seq within the chain; `after` continues below the cursor's seq. */
  async list(
    caller: Caller,
    filter: AuditFilter | null | undefined,
    first: number,
    after?: string | null,
  ): Promise<AuditPage> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
      throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, 'first');
    }
    const chain = this.chainFor(caller, filter?.tenantId);
    const where: FilterQuery<AuditEventEntity> = { chain };
    if (after) where.seq = { $lt: decodeCursor(after) };
    if (filter?.action) where.action = filter.action;
    if (filter?.actorId) {
      // Actors are user ids: no event has any other one. (Matching null here would return every
      // event without an actor, such as auth.failed, for a filter naming someone.)
      if (!isUuid(filter.actorId)) return { events: [], hasNextPage: false };
      where.actorId = filter.actorId;
    }
    if (filter?.targetId) where.targetId = filter.targetId;
    if (filter?.since || filter?.until) {
      where.at = { ...(filter.since ? { $gte: filter.since } : {}), ...(filter.until ? { $lte: filter.until } : {}) };
    }
    const rows = await caller.em.find(AuditEventEntity, where, { orderBy: { seq: 'desc' }, limit: first + 1 });
    return { events: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  async verify(
    caller: Caller,
    tenantId?: string | null,
    expectHead?: ExpectedAuditHead | null,
  ): Promise<VerificationResult> {
    const chain = this.chainFor(caller, tenantId);
    const expected = expectHead ? parseExpectedHead(expectHead.seq, expectHead.hash) : null;
    if (typeof expected === 'string') throw badInput(expected, 'expectHead');
    return verifyChain(caller.em.fork(), this.keys, chain, expected);
  }

  async head(caller: Caller, tenantId?: string | null): Promise<ChainHead> {
    return readChainHead(caller.em.fork(), this.chainFor(caller, tenantId));
  }
}
