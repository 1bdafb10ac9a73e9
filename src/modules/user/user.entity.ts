import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, Enum, ManyToOne, PrimaryKey, Property, Unique, type Ref } from '@mikro-orm/core';
import { TenantEntity } from '../tenant/tenant.entity';
import { Role } from './role';

@Entity({ tableName: 'users' })
@Unique({ properties: ['tenant', 'email'], name: 'users_tenant_email_unique' })
export class UserEntity {
  [OptionalProps]?: 'createdAt' | 'name' | 'preferredModel';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => TenantEntity, { ref: true, deleteRule: 'cascade' })
  tenant!: Ref<TenantEntity>;

  /** Stored lower-cased. */
  @Property({ type: 'text' })
  email!: string;

  @Property({ type: 'text', nullable: true })
  name: string | null = null;

  @Enum({ items: () => Role, type: 'text' })
  role!: Role;

  @Property({ type: 'text', nullable: true })
  preferredModel: string | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
