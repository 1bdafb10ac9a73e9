import { randomUUID } from 'node:crypto';
import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property, type Ref } from '@mikro-orm/core';
import { TenantEntity } from '../tenant/tenant.entity';
import { UserEntity } from '../user/user.entity';
import type { ToolDefinition } from './agent-tool';

@Entity({ tableName: 'agents' })
@Index({ properties: ['tenant'], name: 'agents_tenant_id_index' })
export class AgentEntity {
  [OptionalProps]?: 'createdAt' | 'model' | 'tools';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => TenantEntity, { ref: true, deleteRule: 'cascade' })
  tenant!: Ref<TenantEntity>;

  @ManyToOne(() => UserEntity, { ref: true, deleteRule: 'cascade' })
  owner!: Ref<UserEntity>;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  systemPrompt!: string;

  @Property({ type: 'text', nullable: true })
  model: string | null = null;

  /** Tools the model may call in this agent's chats, checked when saved (tool-definitions.ts). */
  @Property({ type: 'jsonb', default: '[]' })
  tools: ToolDefinition[] = [];

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
