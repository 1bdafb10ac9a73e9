import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, type Ref } from '@mikro-orm/core';
import { AgentEntity } from '../agent/agent.entity';
import { TenantEntity } from '../tenant/tenant.entity';
import { UserEntity } from '../user/user.entity';

@Entity({ tableName: 'conversations' })
@Index({ properties: ['owner'], name: 'conversations_owner_id_index' })
export class ConversationEntity {
  [OptionalProps]?: 'createdAt' | 'title' | 'agent';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => TenantEntity, { ref: true, deleteRule: 'cascade' })
  tenant!: Ref<TenantEntity>;

  @ManyToOne(() => UserEntity, { ref: true, deleteRule: 'cascade' })
  owner!: Ref<UserEntity>;

  @ManyToOne(() => AgentEntity, { ref: true, nullable: true, deleteRule: 'set null' })
  agent: Ref<AgentEntity> | null = null;

  @Property({ type: 'text', nullable: true })
  title: string | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
