import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, type Ref } from '@mikro-orm/core';
import { KeySource } from '../credential/key-source';
import { ConversationEntity } from './conversation.entity';
import { MessageRole } from './message-role';

export type MessageStatus = 'complete' | 'cancelled' | 'failed';

@Entity({ tableName: 'messages' })
@Index({ properties: ['conversation', 'createdAt'], name: 'messages_conversation_created_index' })
export class MessageEntity {
  [OptionalProps]?: 'createdAt' | 'model' | 'keySource' | 'status';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => ConversationEntity, { ref: true, deleteRule: 'cascade' })
  conversation!: Ref<ConversationEntity>;

  @Enum({ items: () => MessageRole, type: 'text' })
  role!: MessageRole;

  @Property({ type: 'text' })
  content!: string;

  @Property({ type: 'text', nullable: true })
  model: string | null = null;

  @Enum({ items: () => KeySource, type: 'text', nullable: true })
  keySource: KeySource | null = null;

  @Property({ type: 'text', default: 'complete' })
  status: MessageStatus = 'complete';

  @Property({ type: 'datetime', length: 6 })
  createdAt: Date = new Date();
}
