import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * The last link of each chain. Appends lock this row, which serialises writers per chain; and
 * verification compares it with the last event, so deleting events from the end is detected.
 */
@Entity({ tableName: 'audit_chain_heads' })
export class AuditChainHeadEntity {
  @PrimaryKey({ type: 'text' })
  chain!: string;

  @Property({ type: 'integer' })
  seq!: number;

  @Property({ type: 'text' })
  hash!: string;
}
