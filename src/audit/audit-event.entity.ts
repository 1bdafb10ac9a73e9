import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';

export enum AuditOutcome {
  SUCCESS = 'SUCCESS',
  DENIED = 'DENIED',
  FAILURE = 'FAILURE',
}

/** Events without a tenant (e.g. an unknown token) form their own chain under this key. */
export const GLOBAL_CHAIN = 'global';

/**
 * One link of a per-tenant hash chain. Deliberately no foreign key to tenants: the trail of a
 * deleted tenant must outlive it. The application only ever inserts into this table.
 */
@Entity({ tableName: 'audit_events' })
@Unique({ properties: ['chain', 'seq'], name: 'audit_events_chain_seq_unique' })
@Index({ properties: ['tenantId', 'at'], name: 'audit_events_tenant_at_index' })
export class AuditEventEntity {
  [OptionalProps]?: 'tenantId' | 'actorId' | 'targetType' | 'targetId' | 'requestId' | 'ip' | 'detail';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** tenantId, or GLOBAL_CHAIN. */
  @Property({ type: 'text' })
  chain!: string;

  @Property({ type: 'integer' })
  seq!: number;

  @Property({ type: 'datetime', length: 3 })
  at!: Date;

  @Property({ type: 'uuid', nullable: true })
  tenantId: string | null = null;

  @Property({ type: 'uuid', nullable: true })
  actorId: string | null = null;

  @Property({ type: 'text' })
  action!: string;

  @Property({ type: 'text', nullable: true })
  targetType: string | null = null;

  @Property({ type: 'text', nullable: true })
  targetId: string | null = null;

  @Enum({ items: () => AuditOutcome, type: 'text' })
  outcome!: AuditOutcome;

  @Property({ type: 'text', nullable: true })
  requestId: string | null = null;

  @Property({ type: 'text', nullable: true })
  ip: string | null = null;

  /** JSON text with non-secret details. */
  @Property({ type: 'text', nullable: true })
  detail: string | null = null;

  @Property({ type: 'text' })
  prevHash!: string;

  @Property({ type: 'text' })
  hash!: string;
}
