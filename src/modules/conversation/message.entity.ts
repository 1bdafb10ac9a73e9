import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, type Ref } from '@mikro-orm/core';
import { KeySource } from '../credential/key-source';
import { ConversationEntity } from './conversation.entity';
import { MessageRole } from './message-role';

/** A tool call the assistant made, as stored with its message. */
export interface StoredToolCall {
  id: string;
  name: string;
  input: unknown;
}

/** The client's answer to one tool call, as stored in a TOOL message. */
export interface StoredToolResult {
  toolCallId: string;
  output: string;
  isError: boolean;
}

export type MessageStatus = 'complete' | 'cancelled' | 'failed';

@Entity({ tableName: 'messages' })
@Index({ properties: ['conversation', 'createdAt'], name: 'messages_conversation_created_index' })
export class MessageEntity {
  [OptionalProps]?: 'createdAt' | 'model' | 'keySource' | 'status' | 'toolCalls' | 'toolResults';

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

  /** ASSISTANT: the tool calls the reply ended with (replayed to the provider); null: none. */
  @Property({ type: 'jsonb', nullable: true })
  toolCalls: StoredToolCall[] | null = null;

  /** TOOL: the results of the previous ASSISTANT message's tool calls. */
  @Property({ type: 'jsonb', nullable: true })
  toolResults: StoredToolResult[] | null = null;

  @Property({ type: 'datetime', length: 6 })
  createdAt: Date = new Date();
}
