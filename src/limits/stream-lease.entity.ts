import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One chat stream open on some replica, counted against the per-user and per-tenant caps by every
 * replica. Admitted by the `keyward_admit_chat` function (see PgStreamLeases), renewed by its
 * replica every third of the lease time, deleted when the stream ends or, once expired (the
 * replica died), by any replica's sweeper.
 */
@Entity({ tableName: 'stream_leases' })
@Index({ properties: ['userId', 'expiresAt'], name: 'stream_leases_user_expires_index' })
@Index({ properties: ['tenantId', 'expiresAt'], name: 'stream_leases_tenant_expires_index' })
@Index({ properties: ['replicaId'], name: 'stream_leases_replica_index' })
export class StreamLeaseEntity {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ type: 'uuid' })
  replicaId!: string;

  /** No foreign keys: admission must not wait on the tenant or user rows' locks. */
  @Property({ type: 'uuid' })
  tenantId!: string;

  @Property({ type: 'uuid' })
  userId!: string;

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}
