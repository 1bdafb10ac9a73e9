import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, type Ref } from '@mikro-orm/core';
import { TenantEntity } from '../modules/tenant/tenant.entity';

/**
 * Platform-key spend held for a chat in flight: its worst-case cost, counted against the
 * tenant's platform-key cap until the request settles (deleted) or, if a process died, expires.
 */
@Entity({ tableName: 'platform_spend_reservations' })
@Index({ properties: ['tenant', 'expiresAt'], name: 'platform_spend_reservations_tenant_expires_index' })
export class PlatformSpendReservationEntity {
  [OptionalProps]?: 'createdAt' | 'replicaId';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => TenantEntity, { ref: true, deleteRule: 'cascade' })
  tenant!: Ref<TenantEntity>;

  @Property({ type: 'double' })
  amountUsd!: number;

  /** The replica whose chat holds it; it renews `expiresAt` while it runs (see ReplicaLeaseKeeper). */
  @Property({ type: 'uuid', nullable: true })
  replicaId?: string | null;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
