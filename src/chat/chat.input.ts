import { IsInt, IsOptional, Max, MaxLength, Min, MinLength } from '../common/class-validator';
import { Field, ID, InputType, Int } from 'type-graphql';
import { ToolDefinitionInput } from '../modules/agent/agent-tool';
import { KeySource } from '../modules/credential/key-source';

export const MAX_CHAT_MESSAGE_LENGTH = 100_000;
export const MAX_OUTPUT_TOKENS = 64_000;
export const DEFAULT_OUTPUT_TOKENS = 1024;
export const MAX_CLIENT_REQUEST_ID_LENGTH = 128;

@InputType()
export class ChatInput {
  @Field()
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(MAX_CHAT_MESSAGE_LENGTH, { message: `must be at most ${MAX_CHAT_MESSAGE_LENGTH} characters` })
  message!: string;

  @Field(() => ID, {
    nullable: true,
    description: "Continue this conversation (the caller's own); default: a new one.",
  })
  conversationId?: string | null;

  @Field(() => ID, { nullable: true })
  agentId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "Default: the agent's model, else the user's preferred model, else the tenant's default.",
  })
  model?: string | null;

  @Field(() => KeySource, { nullable: true, defaultValue: KeySource.AUTO })
  keySource?: KeySource | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Chosen by the client, unique per user: a second chat with the same id within 24 hours is refused with DUPLICATE_REQUEST naming the first (a re-submission after a reconnect is never run or charged twice).',
  })
  @IsOptional()
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(MAX_CLIENT_REQUEST_ID_LENGTH, { message: `must be at most ${MAX_CLIENT_REQUEST_ID_LENGTH} characters` })
  clientRequestId?: string | null;

  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1, { message: 'must be at least 1' })
  @Max(MAX_OUTPUT_TOKENS, { message: `must be at most ${MAX_OUTPUT_TOKENS}` })
  maxTokens?: number | null;

  @Field(() => [ToolDefinitionInput], {
    nullable: true,
    description: "Tools for this request, added to the agent's (names must not repeat).",
  })
  tools?: ToolDefinitionInput[] | null;
}
