import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique, type Ref } from '@mikro-orm/core';
import { TenantEntity } from '../tenant/tenant.entity';
import { UserEntity } from '../user/user.entity';
import { CredentialCheckResult } from './credential-check-result';
import { CredentialScope } from './credential-scope';
import { Provider } from './provider';

/**
 * A stored provider key. `ciphertext` is sealed by the vault under the tenant's data key with
 * this row's identity as associated data; only the vault can open it.
 */
@Entity({ tableName: 'credentials' })
@Index({ properties: ['tenant'], name: 'credentials_tenant_id_index' })
@Unique({
  name: 'credentials_tenant_key_unique',
  expression: `create unique index "credentials_tenant_key_unique" on "credentials" ("tenant_id", "provider") where "scope" = 'TENANT'`,
})
@Unique({
  name: 'credentials_personal_key_unique',
  expression: `create unique index "credentials_personal_key_unique" on "credentials" ("tenant_id", "owner_id", "provider") where "scope" = 'PERSONAL'`,
})
export class CredentialEntity {
  [OptionalProps]?: 'createdAt' | 'updatedAt' | 'lastUsedAt' | 'lastCheckedAt' | 'lastCheckResult' | 'label' | 'owner';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => TenantEntity, { ref: true, deleteRule: 'cascade' })
  tenant!: Ref<TenantEntity>;

  @Enum({ items: () => Provider, type: 'text' })
  provider!: Provider;

  @Enum({ items: () => CredentialScope, type: 'text' })
  scope!: CredentialScope;

  /** Set for PERSONAL credentials only. */
  @ManyToOne(() => UserEntity, { ref: true, nullable: true, deleteRule: 'cascade' })
  owner: Ref<UserEntity> | null = null;

  @Property({ type: 'text', nullable: true })
  label: string | null = null;

  @Property({ type: 'blob' })
  ciphertext!: Buffer;

  @Property({ type: 'text' })
  last4!: string;

  @Property({ type: 'integer' })
  dataKeyVersion!: number;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;

  /** When testCredential last asked the provider about this key. */
  @Property({ type: 'datetime', nullable: true })
  lastCheckedAt: Date | null = null;

  @Enum({ items: () => CredentialCheckResult, type: 'text', nullable: true })
  lastCheckResult: CredentialCheckResult | null = null;
}
