import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, ManyToOne, PrimaryKey, Property, Unique, type Ref } from '@mikro-orm/core';
import type { KeyringKind } from './keyring/keyring';

/** What the vault knows of the tenant a data key belongs to. */
export interface DataKeyTenant {
  readonly id: string;
}

/** A tenant data key, only ever stored wrapped by a keyring. */
@Entity({ tableName: 'tenant_data_keys' })
@Unique({ properties: ['tenant', 'version'], name: 'tenant_data_keys_tenant_version_unique' })
export class DataKeyEntity {
  [OptionalProps]?: 'createdAt' | 'rewrappedAt' | 'retiredAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** The relation names the tenant entity rather than importing it: the vault sits below the modules. */
  @ManyToOne({ entity: 'TenantEntity', ref: true, deleteRule: 'cascade' })
  tenant!: Ref<DataKeyTenant>;

  @Property({ type: 'integer' })
  version!: number;

  @Property({ type: 'text' })
  keyring!: KeyringKind;

  @Property({ type: 'text' })
  masterKeyId!: string;

  @Property({ type: 'blob' })
  wrappedKey!: Buffer;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  rewrappedAt: Date | null = null;

  /** Set when a rotation moved every credential to a newer version. */
  @Property({ type: 'datetime', nullable: true })
  retiredAt: Date | null = null;
}
