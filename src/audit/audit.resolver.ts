import { Arg, Authorized, ID, Int, Query, Resolver } from 'type-graphql';
import type { Caller } from '../auth/caller';
import { CurrentCaller } from '../auth/current-caller';
import { encodeCursor, type AuditService } from './audit.service';
import {
  AuditEvent,
  AuditEventConnection,
  AuditFilter,
  AuditHead,
  AuditVerification,
  ExpectedAuditHead,
} from './audit.types';

@Resolver()
export class AuditResolver {
  constructor(private readonly auditService: AuditService) {}

  @Authorized()
  @Query(() => AuditEventConnection, { description: 'Newest first.' })
  async auditEvents(
    @Arg('filter', () => AuditFilter, { nullable: true }) filter: AuditFilter | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @CurrentCaller() caller: Caller,
  ): Promise<AuditEventConnection> {
    const page = await this.auditService.list(caller, filter, first ?? 50, after);
    const edges = page.events.map((event) => ({ cursor: encodeCursor(event.seq), node: AuditEvent.from(event) }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @Authorized()
  @Query(() => AuditVerification)
  async verifyAuditLog(
    @Arg('tenantId', () => ID, { nullable: true, description: "PLATFORM_ADMIN only: another tenant's chain." })
    tenantId: string | null,
    @Arg('expectHead', () => ExpectedAuditHead, {
      nullable: true,
      description:
        'A head kept from auditHead: the chain must still hold that event (catches events removed from its end).',
    })
    expectHead: ExpectedAuditHead | null,
    @CurrentCaller() caller: Caller,
  ): Promise<AuditVerification> {
    return this.auditService.verify(caller, tenantId, expectHead);
  }

  @Authorized()
  @Query(() => AuditHead, { description: "The chain's newest event (seq and hash), to keep outside the database." })
  async auditHead(
    @Arg('tenantId', () => ID, { nullable: true, description: "PLATFORM_ADMIN only: another tenant's chain." })
    tenantId: string | null,
    @CurrentCaller() caller: Caller,
  ): Promise<AuditHead> {
    return this.auditService.head(caller, tenantId);
  }
}
