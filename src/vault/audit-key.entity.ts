import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import type { KeyringKind } from './keyring/keyring';

/**
 * The MAC key of one audit chain (a tenant's, or `global`), only ever stored wrapped by a keyring
 * with purpose `audit-key` and the chain name bound into the wrap. Deliberately no foreign key to
 * tenants: like the chain itself, it outlives a deleted tenant, so the trail stays verifiable
 * after the tenant's data keys were shredded.
 */
@Entity({ tableName: 'audit_keys' })
export class AuditKeyEntity {
  [OptionalProps]?: 'createdAt' | 'rewrappedAt';

  @PrimaryKey({ type: 'text' })
  chain!: string;

  @Property({ type: 'text' })
  keyring!: KeyringKind;

  @Property({ type: 'text' })
  masterKeyId!: string;

  @Property({ type: 'blob' })
  wrappedKey!: Buffer;

  /** The first seq of the chain MACed with this key; earlier events are plain SHA-256 (before keying). */
  @Property({ type: 'integer' })
  keyedFromSeq!: number;

  /** Hex HMAC of (chain, keyedFromSeq) under this key: moving the boundary needs the key. */
  @Property({ type: 'text' })
  keyedFromMac!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  rewrappedAt: Date | null = null;
}
