import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * The table rate-limiter-flexible's PostgreSQL store reads and writes (its own schema, created
 * here by a migration instead of by the library at run time). Shared by every gateway process.
 */
@Entity({ tableName: 'rate_limits' })
export class RateLimitRecordEntity {
  @PrimaryKey({ type: 'string', length: 255 })
  key!: string;

  @Property({ type: 'integer', default: 0 })
  points = 0;

  @Property({ type: 'bigint', nullable: true })
  expire: string | null = null;
}
