import { IsOptional, MaxLength, MinLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { DisplayName } from '../../common/text-constraints';

export const MAX_AGENT_NAME_LENGTH = 100;
export const MAX_SYSTEM_PROMPT_LENGTH = 50_000;

@InputType()
export class CreateAgentInput {
  @Field()
  @DisplayName(MAX_AGENT_NAME_LENGTH)
  name!: string;

  @Field()
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(MAX_SYSTEM_PROMPT_LENGTH, { message: `must be at most ${MAX_SYSTEM_PROMPT_LENGTH} characters` })
  systemPrompt!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  model?: string | null;
}
