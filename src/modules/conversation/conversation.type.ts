import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { KeySource } from '../credential/key-source';
import type { ConversationEntity } from './conversation.entity';
import type { MessageEntity } from './message.entity';
import { MessageRole } from './message-role';

registerEnumType(MessageRole, { name: 'MessageRole' });

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

  @Field()
  createdAt!: Date;

  static from(entity: MessageEntity): Message {
    return Object.assign(new Message(), {
      id: entity.id,
      role: entity.role,
      content: entity.content,
      model: entity.model,
      keySource: entity.keySource,
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
