import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { ChatToolCall } from '../../chat/chat-event.type';
import { KeySource } from '../credential/key-source';
import type { ConversationEntity } from './conversation.entity';
import type { MessageEntity } from './message.entity';
import { MessageRole } from './message-role';

registerEnumType(MessageRole, { name: 'MessageRole' });

@ObjectType({ description: "The client's answer to one tool call, as submitted with submitToolResults." })
export class ToolResult {
  @Field(() => ID)
  toolCallId!: string;

  @Field()
  output!: string;

  @Field()
  isError!: boolean;
}

@ObjectType()
export class Message {
  @Field(() => ID)
  id!: string;

  @Field(() => MessageRole)
  role!: MessageRole;

  @Field()
  content!: string;

  @Field(() => String, { nullable: true })
  model!: string | null;

  @Field(() => KeySource, { nullable: true })
  keySource!: KeySource | null;

  @Field(() => [ChatToolCall], {
    nullable: true,
    description: 'ASSISTANT: the tool calls this reply ended with (its step of a tool loop); null when none.',
  })
  toolCalls!: ChatToolCall[] | null;

  @Field(() => [ToolResult], {
    nullable: true,
    description: "TOOL: the client's results of the previous ASSISTANT message's tool calls (`content` is empty).",
  })
  toolResults!: ToolResult[] | null;

  @Field()
  createdAt!: Date;

  static from(entity: MessageEntity): Message {
    return Object.assign(new Message(), {
      id: entity.id,
      role: entity.role,
      content: entity.content,
      model: entity.model,
      keySource: entity.keySource,
      toolCalls: entity.toolCalls?.map((call) => Object.assign(new ChatToolCall(), call)) ?? null,
      toolResults: entity.toolResults?.map((result) => Object.assign(new ToolResult(), result)) ?? null,
      createdAt: entity.createdAt,
    });
  }
}

@ObjectType()
export class Conversation {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  title!: string | null;

  @Field()
  createdAt!: Date;

  /** For the `agent` and `messages` field resolvers. */
  agentId!: string | null;

  static from(entity: ConversationEntity): Conversation {
    return Object.assign(new Conversation(), {
      id: entity.id,
      title: entity.title,
      createdAt: entity.createdAt,
      agentId: entity.agent?.id ?? null,
    });
  }
}
