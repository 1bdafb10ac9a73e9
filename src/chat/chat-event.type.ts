import { JSONResolver } from 'graphql-scalars';
import { createUnionType, Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { ChatFailedCode } from '../common/codes';
import { KeySource } from '../modules/credential/key-source';

@ObjectType({ description: 'First event of every chat: what the gateway picked.' })
export class ChatStarted {
  @Field(() => ID)
  requestId!: string;

  @Field(() => ID)
  conversationId!: string;

  @Field()
  model!: string;

  @Field(() => KeySource)
  keySource!: KeySource;
}

@ObjectType()
export class ChatDelta {
  @Field()
  text!: string;
}

@ObjectType()
export class ChatUsage {
  @Field(() => Int)
  inputTokens!: number;

  @Field(() => Int)
  outputTokens!: number;

  @Field(() => Float)
  costUsd!: number;
}

@ObjectType({ description: 'Last event of a chat that finished.' })
export class ChatCompleted {
  @Field(() => String, { nullable: true })
  stopReason!: string | null;

  @Field(() => ChatUsage)
  usage!: ChatUsage;
}

@ObjectType({ description: 'Last event of a chat that failed after it started.' })
export class ChatFailed {
  @Field(() => String)
  code!: ChatFailedCode;

  @Field()
  message!: string;

  @Field()
  retryable!: boolean;
}

@ObjectType({
  description:
    'The model asks the client to run a tool. Answer every call of a step with submitToolResults(requestId, …); the stream then goes on.',
})
export class ChatToolCall {
  @Field(() => ID, { description: "The provider's id of the call: the toolCallId of its result." })
  id!: string;

  @Field()
  name!: string;

  @Field(() => JSONResolver, { description: 'The arguments, as the model wrote them (an object).' })
  input!: unknown;
}

export type ChatEventPayload = ChatStarted | ChatDelta | ChatCompleted | ChatFailed | ChatToolCall;

export const ChatEvent = createUnionType({
  name: 'ChatEvent',
  types: () => [ChatStarted, ChatDelta, ChatCompleted, ChatFailed, ChatToolCall] as const,
});

export const chatStarted = (value: ChatStarted): ChatStarted => Object.assign(new ChatStarted(), value);
export const chatDelta = (text: string): ChatDelta => {
  const delta = new ChatDelta(); // one per token: no object literal to copy from
  delta.text = text;
  return delta;
};
export const chatCompleted = (stopReason: string | null, usage: ChatUsage): ChatCompleted =>
  Object.assign(new ChatCompleted(), { stopReason, usage: Object.assign(new ChatUsage(), usage) });
export const chatFailed = (code: ChatFailedCode, message: string, retryable: boolean): ChatFailed =>
  Object.assign(new ChatFailed(), { code, message, retryable });
export const chatToolCall = (value: ChatToolCall): ChatToolCall => Object.assign(new ChatToolCall(), value);
